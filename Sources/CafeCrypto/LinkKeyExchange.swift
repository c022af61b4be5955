import CSodium

/// An ephemeral X25519 key pair for one link handshake, and the two directional keys it
/// agrees on with the peer's ephemeral key (libsodium `crypto_kx`: BLAKE2b-512 over the shared
/// point and both public keys, split into a key for each direction). The secret half lives in
/// guarded memory and is wiped when the pair is released, which gives the link forward secrecy:
/// once both ends drop their pairs, nothing recorded can be decrypted, even with the nodes'
/// long-term keys.
public final class EphemeralKeyPair: @unchecked Sendable {
    public static let publicKeyBytes = Int(crypto_kx_PUBLICKEYBYTES)

    public let publicKey: [UInt8]
    private let secret: UnsafeMutablePointer<UInt8>

    public init() throws {
        Sodium.ensureReady()
        guard let memory = sodium_malloc(Int(crypto_kx_SECRETKEYBYTES)) else {
            throw CryptoError("out of secure memory", exitStatus: 1)
        }
        secret = memory.assumingMemoryBound(to: UInt8.self)
        var publicBytes = [UInt8](repeating: 0, count: Self.publicKeyBytes)
        crypto_kx_keypair(&publicBytes, secret)
        publicKey = publicBytes
    }

    deinit { sodium_free(secret) }

    /// The keys of the side that opened the connection: (send, receive).
    public func initiatorKeys(peer: [UInt8]) throws -> (send: SessionKey, receive: SessionKey) {
        try agree(peer) { rx, tx, pk, sk, peer in crypto_kx_client_session_keys(rx, tx, pk, sk, peer) }
    }

    /// The keys of the side that accepted the connection: (send, receive).
    public func responderKeys(peer: [UInt8]) throws -> (send: SessionKey, receive: SessionKey) {
        try agree(peer) { rx, tx, pk, sk, peer in crypto_kx_server_session_keys(rx, tx, pk, sk, peer) }
    }

    private func agree(
        _ peer: [UInt8],
        _ derive: (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt8>, UnsafePointer<UInt8>, UnsafePointer<UInt8>, UnsafePointer<UInt8>) -> Int32
    ) throws -> (send: SessionKey, receive: SessionKey) {
        guard peer.count == Self.publicKeyBytes else { throw CryptoError("an ephemeral key has \(Self.publicKeyBytes) bytes, not \(peer.count)") }
        var rx = [UInt8](repeating: 0, count: Int(crypto_kx_SESSIONKEYBYTES))
        var tx = [UInt8](repeating: 0, count: Int(crypto_kx_SESSIONKEYBYTES))
        defer {
            sodium_memzero(&rx, rx.count)
            sodium_memzero(&tx, tx.count)
        }
        let status = derive(&rx, &tx, publicKey, secret, peer)
        // libsodium refuses a peer key that is a low-order point (an all-zero shared secret).
        guard status == 0 else { throw CryptoError("the peer's ephemeral key is not acceptable", exitStatus: 1) }
        return (try SessionKey(tx), try SessionKey(rx))
    }
}

/// A 32-byte symmetric key in guarded memory, wiped when released.
public final class SessionKey: @unchecked Sendable {
    public static let bytes = 32
    let pointer: UnsafeMutablePointer<UInt8>

    public init(_ key: [UInt8]) throws {
        Sodium.ensureReady()
        guard key.count == Self.bytes else { throw CryptoError("a session key has \(Self.bytes) bytes, not \(key.count)") }
        guard let memory = sodium_malloc(Self.bytes) else { throw CryptoError("out of secure memory", exitStatus: 1) }
        pointer = memory.assumingMemoryBound(to: UInt8.self)
        pointer.update(from: key, count: Self.bytes)
    }

    deinit { sodium_free(pointer) }

    /// A key for one purpose, derived from this one and `context` (keyed BLAKE2b-256): the same
    /// key and context always give the same result; any other context an unrelated key.
    public func derive(_ context: [UInt8]) throws -> SessionKey {
        var out = [UInt8](repeating: 0, count: Self.bytes)
        defer { sodium_memzero(&out, out.count) }
        crypto_generichash(&out, Self.bytes, context, UInt64(context.count), pointer, Self.bytes)
        return try SessionKey(out)
    }
}

/// Authenticated encryption of one message under a key and a nonce used once
/// (`crypto_aead_xchacha20poly1305_ietf`), for the handshake's sealed identities.
public enum AEAD {
    public static let tagBytes = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)
    static let nonceBytes = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)

    /// `plaintext` sealed under `key`, bound to `associated` (which is authenticated, not sent).
    /// Each key seals one message: the nonce is fixed.
    public static func seal(_ plaintext: [UInt8], key: SessionKey, associated: [UInt8]) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: plaintext.count + tagBytes)
        var length: UInt64 = 0
        let nonce = [UInt8](repeating: 0, count: nonceBytes)
        crypto_aead_xchacha20poly1305_ietf_encrypt(
            &out, &length, plaintext, UInt64(plaintext.count), associated, UInt64(associated.count), nil, nonce, key.pointer)
        return Array(out.prefix(Int(length)))
    }

    /// The plaintext, or nil when `sealed` was not sealed under `key` with `associated`.
    public static func open(_ sealed: [UInt8], key: SessionKey, associated: [UInt8]) -> [UInt8]? {
        Sodium.ensureReady()
        guard sealed.count >= tagBytes else { return nil }
        var out = [UInt8](repeating: 0, count: sealed.count - tagBytes)
        var length: UInt64 = 0
        let nonce = [UInt8](repeating: 0, count: nonceBytes)
        let status = crypto_aead_xchacha20poly1305_ietf_decrypt(
            &out, &length, nil, sealed, UInt64(sealed.count), associated, UInt64(associated.count), nonce, key.pointer)
        return status == 0 ? Array(out.prefix(Int(length))) : nil
    }
}

/// BLAKE2b for transcripts: public so that the handshake can hash what it has seen.
public enum TranscriptHash {
    /// BLAKE2b-256 of the parts, each preceded by its length, so that no two lists of parts hash alike.
    public static func of(_ parts: [UInt8]...) -> [UInt8] {
        var input: [UInt8] = []
        for part in parts {
            input += withUnsafeBytes(of: UInt32(part.count).bigEndian, Array.init)
            input += part
        }
        return Sodium.hash(input)
    }

    /// `count` random bytes from libsodium.
    public static func random(_ count: Int) -> [UInt8] { Sodium.randomBytes(count) }
}
