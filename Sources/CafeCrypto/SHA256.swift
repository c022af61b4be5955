import CSodium
import CafeCore

/// SHA-256 (libsodium's `crypto_hash_sha256`), for digests that people and other tools can
/// recompute with `sha256sum`: command-map entries and plans.
public enum SHA256 {
    /// The 32-byte digest of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        Sodium.ensureReady()
        var out = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_bytes()))
        crypto_hash_sha256(&out, bytes, UInt64(bytes.count))
        return out
    }

    /// The digest of `bytes` as CafeBatch writes digests: `sha256:` and 64 lower-case hex digits.
    public static func digest(_ bytes: [UInt8]) -> String {
        SHA256Digest.prefix + Hex.encode(hash(bytes))
    }
}
