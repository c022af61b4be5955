/// How CafeBatch writes a SHA-256 digest: `sha256:` and 64 lower-case hex digits, as
/// `sha256sum` prints them. (The hashing itself is `CafeCrypto`'s `SHA256`.)
public enum SHA256Digest {
    public static let prefix = "sha256:"

    /// True for `sha256:` and 64 lower-case hex digits.
    public static func isValid(_ text: String) -> Bool {
        text.hasPrefix(prefix) && isHex(String(text.dropFirst(prefix.count)))
    }

    /// True for 64 lower-case hex digits (a digest without its `sha256:`).
    public static func isHex(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}

extension YAMLReader {
    /// A digest as ``SHA256Digest`` writes it; anything else is an error that says so.
    public func sha256Digest() throws -> String {
        let text = try string()
        guard SHA256Digest.isValid(text) else { throw error("'\(text.prefix(80))' is not a digest (sha256: and 64 lower-case hex digits)") }
        return text
    }
}
