/// The rules for names that end up in file names, environment variables and envelopes.
/// Everything that reaches the disk or the environment is checked against these first.
public enum Names {
    /// Node (host) names: `jlore`, `monk1`, `db-2.site-b`. Letters, digits, `_ . -`, at most 63
    /// characters, starting with a letter or digit, never `..`.
    public static func isValidNode(_ name: String) -> Bool {
        isToken(name, max: 63) && !name.hasDoubled(".")
    }

    /// Request names: `activate_dialup`. Same alphabet as node names, at most 128 characters.
    public static func isValidRequest(_ name: String) -> Bool {
        isToken(name, max: 128) && !name.hasDoubled(".")
    }

    /// Data keys: a letter or `_`, then letters, digits, `_` or `-`; at most 64 characters.
    public static func isValidDataKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard let first = bytes.first, bytes.count <= 64, isLetter(first) || first == UInt8(ascii: "_") else {
            return false
        }
        return bytes.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// The environment variable that carries data key `key`: `CAFE_DATA_` + upper-cased key with
    /// every character other than a letter or digit turned into `_`.
    public static func environmentName(forDataKey key: String) -> String {
        "CAFE_DATA_" + String(
            key.uppercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }

    private static func isToken(_ name: String, max: Int) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= max, isLetter(first) || isDigit(first) else { return false }
        return bytes.allSatisfy {
            isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".")
        }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
}
