import CSodium
import CafeCore

/// An Ed25519 public key: checks signatures, and (as X25519) receives sealed secrets.
/// Written `ed25519:BASE64`, as `cafe key show` prints it and `node.yaml` lists it.
public struct PublicKey: Sendable, Hashable, CustomStringConvertible {
    /// The 32 key bytes.
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) throws {
        guard bytes.count == 32 else { throw CryptoError("an Ed25519 public key has 32 bytes, not \(bytes.count)") }
        self.bytes = bytes
    }

    /// Parses `ed25519:BASE64`.
    public init(text: String) throws {
        guard PublicKeyText.isValid(text), let bytes = Base64.decode(String(text.dropFirst(PublicKeyText.prefix.count))) else {
            throw CryptoError("'\(text)' is not a public key (expected ed25519: and 44 base64 characters)")
        }
        try self.init(bytes: bytes)
    }

    /// `ed25519:BASE64`
    public var text: String { PublicKeyText.prefix + Base64.encode(bytes) }

    public var description: String { text }

    /// A short fingerprint for logs: the first 8 bytes of the key's BLAKE2b hash, in hex.
    public var fingerprint: String {
        Hex.encode(Sodium.hash(bytes, length: 16).prefix(8))
    }

    /// True when `signature` is this key's Ed25519 signature of `message`.
    public func isValidSignature(_ signature: [UInt8], of message: [UInt8]) -> Bool {
        Sodium.ensureReady()
        guard signature.count == Int(crypto_sign_bytes()) else { return false }
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), bytes) == 0
    }

    /// The X25519 form of this key, for sealing (`crypto_sign_ed25519_pk_to_curve25519`).
    func curve25519() throws -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: 32)
        guard crypto_sign_ed25519_pk_to_curve25519(&out, bytes) == 0 else {
            throw CryptoError("key \(text) cannot receive sealed secrets (not a valid Ed25519 point)")
        }
        return out
    }
}
