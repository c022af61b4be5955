import CSodium
import CafeCore

/// Seals secret values to one node's key with `crypto_box_seal` (X25519 + XSalsa20-Poly1305,
/// anonymous sender), bound to a context: the plaintext starts with the binding text, and
/// opening checks it, so a sealed value copied into another request, for another recipient or
/// under another key name cannot be opened there.
///
/// X25519 keys are derived from the nodes' Ed25519 keys (`crypto_sign_ed25519_pk_to_curve25519`
/// and `crypto_sign_ed25519_sk_to_curve25519`), so a node has one key pair for both jobs.
///
/// The text form is `sealed:BASE64`.
public enum SecretSealer {
    public static let prefix = "sealed:"
    static let version = Array("cafe-secret-v1\n".utf8)

    /// The binding for a secret of a request that `origin` sends to `recipient`. Naming the
    /// origin keeps another signer the recipient trusts from replaying the sealed value (seen on
    /// the wire) inside a request of its own.
    public static func requestBinding(origin: String, batch: String, index: Int, request: String, recipient: String, key: String) -> String {
        "request from \(origin) \(batch) \(index) \(request) to \(recipient) key \(key)"
    }

    /// The binding for a secret kept in the origin's saved original batch.
    public static func originalBinding(batch: String, index: Int, origin: String, key: String) -> String {
        "original \(batch) \(index) of \(origin) key \(key)"
    }

    /// Seals `value` to `recipient`, bound to `binding`.
    public static func seal(_ value: SecretBytes, to recipient: PublicKey, binding: String) throws -> String {
        Sodium.ensureReady()
        let curve = try recipient.curve25519()
        var plaintext = version + Array(binding.utf8) + [0]
        value.withUnsafeBytes { plaintext.append(contentsOf: $0) }
        defer { sodium_memzero(&plaintext, plaintext.count) }
        var sealed = [UInt8](repeating: 0, count: plaintext.count + Int(crypto_box_sealbytes()))
        guard crypto_box_seal(&sealed, plaintext, UInt64(plaintext.count), curve) == 0 else {
            throw CryptoError("sealing failed", exitStatus: 1)
        }
        return prefix + Base64.encode(sealed)
    }

    /// Opens a value sealed to `key`'s node under `binding`.
    public static func open(_ text: String, with key: SigningKey, binding: String) throws -> SecretBytes {
        Sodium.ensureReady()
        guard text.hasPrefix(prefix), let sealed = Base64.decode(String(text.dropFirst(prefix.count))),
            sealed.count >= Int(crypto_box_sealbytes())
        else {
            throw CryptoError("a sealed secret must be `\(prefix)BASE64`")
        }
        let curvePublic = try key.publicKey.curve25519()
        var plaintext = [UInt8](repeating: 0, count: sealed.count - Int(crypto_box_sealbytes()))
        defer { sodium_memzero(&plaintext, plaintext.count) }
        let opened = key.withCurve25519Secret { curveSecret in
            crypto_box_seal_open(&plaintext, sealed, UInt64(sealed.count), curvePublic, curveSecret) == 0
        }
        guard opened else { throw CryptoError("the sealed secret was not sealed to this node, or was altered") }
        let expected = version + Array(binding.utf8) + [0]
        guard plaintext.starts(with: expected) else {
            throw CryptoError("the sealed secret belongs to another request, recipient or key; refusing it")
        }
        return SecretBytes(plaintext[expected.count...])
    }
}
