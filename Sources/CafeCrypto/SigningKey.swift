import CSodium
import CafeCore

/// A node's Ed25519 private key, in memory that libsodium guards and wipes (`sodium_malloc`).
/// Signs envelopes and results; opens secrets sealed to the node.
public final class SigningKey: @unchecked Sendable {
    /// The 64-byte libsodium secret key (seed followed by public key).
    private let secret: UnsafeMutableRawPointer
    public let publicKey: PublicKey

    /// A key from a 32-byte seed. The caller should wipe its copy of the seed.
    public init(seed: some Collection<UInt8>) throws {
        Sodium.ensureReady()
        let seed = Array(seed)
        guard seed.count == 32 else { throw CryptoError("an Ed25519 seed has 32 bytes, not \(seed.count)") }
        guard let memory = sodium_malloc(64) else { throw CryptoError("out of secure memory", exitStatus: 1) }
        secret = memory
        var publicBytes = [UInt8](repeating: 0, count: 32)
        crypto_sign_seed_keypair(&publicBytes, secret.assumingMemoryBound(to: UInt8.self), seed)
        publicKey = try PublicKey(bytes: publicBytes)
    }

    /// A fresh random key.
    public static func generate() throws -> SigningKey {
        var seed = Sodium.randomBytes(32)
        defer { sodium_memzero(&seed, seed.count) }
        return try SigningKey(seed: seed)
    }

    deinit {
        sodium_free(secret)  // sodium_free wipes before releasing
    }

    /// The 32-byte seed, for writing the key file. The caller must wipe the copy.
    public func exportSeed() -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: secret, count: 32))
    }

    /// The detached Ed25519 signature of `message` (64 bytes).
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: Int(crypto_sign_bytes()))
        crypto_sign_detached(&signature, nil, message, UInt64(message.count), secret.assumingMemoryBound(to: UInt8.self))
        return signature
    }

    /// Runs `body` with the X25519 secret key derived from this key, wiped afterwards.
    func withCurve25519Secret<R>(_ body: (UnsafePointer<UInt8>) throws -> R) rethrows -> R {
        var curve = [UInt8](repeating: 0, count: 32)
        defer { sodium_memzero(&curve, curve.count) }
        crypto_sign_ed25519_sk_to_curve25519(&curve, secret.assumingMemoryBound(to: UInt8.self))
        return try curve.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }
}
