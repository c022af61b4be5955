import CSodium

/// Whole messages sealed to one node's key with `crypto_box_seal` (an ephemeral X25519 key per
/// message, XSalsa20-Poly1305; the recipient's X25519 key derived from its Ed25519 key), for
/// files that travel outside a sealed link: only the recipient can open them, and any change
/// makes them fail to open.
public enum SealedBox {
    public static let overhead = Int(crypto_box_sealbytes())

    /// `message` sealed to `recipient`.
    public static func seal(_ message: [UInt8], to recipient: PublicKey) throws -> [UInt8] {
        Sodium.ensureReady()
        let curve = try recipient.curve25519()
        var sealed = [UInt8](repeating: 0, count: message.count + overhead)
        guard crypto_box_seal(&sealed, message, UInt64(message.count), curve) == 0 else {
            throw CryptoError("sealing failed", exitStatus: 1)
        }
        return sealed
    }

    /// The message sealed to `key`'s node, or nil when it was sealed to another key or altered.
    public static func open(_ sealed: [UInt8], with key: SigningKey) throws -> [UInt8]? {
        Sodium.ensureReady()
        guard sealed.count >= overhead else { return nil }
        let curvePublic = try key.publicKey.curve25519()
        var message = [UInt8](repeating: 0, count: sealed.count - overhead)
        let opened = key.withCurve25519Secret { secret in
            crypto_box_seal_open(&message, sealed, UInt64(sealed.count), curvePublic, secret) == 0
        }
        return opened ? message : nil
    }
}
