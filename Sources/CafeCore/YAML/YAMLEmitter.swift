/// Writes ``YAMLValue`` trees as block-style YAML that a person can read with `cat` and that
/// any YAML 1.1/1.2 reader (Yams included) reads back to the same values.
///
/// Strings are written plain when that cannot be mistaken for anything else, as literal blocks
/// (`|`) when they span lines of printable text, single-quoted when printable, and double-quoted
/// with escapes otherwise (control characters, line separators, byte-order marks).
/// The output never contains anchors, aliases, tags or raw control characters.
public enum YAMLEmitter {
    /// The YAML text of `value`, ending in a newline. `comment` lines go first, each after `# `.
    public static func emit(_ value: YAMLValue, comment: [String] = []) -> String {
        String(decoding: bytes(value, comment: comment), as: UTF8.self)
    }

    /// As ``emit(_:comment:)``, as UTF-8 bytes.
    public static func bytes(_ value: YAMLValue, comment: [String] = []) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        for line in comment {
            out.append(contentsOf: "# ".utf8)
            out.append(contentsOf: line.utf8)
            out.append(newline)
        }
        switch value {
        case .map(let pairs) where !pairs.isEmpty:
            writeMapBody(pairs, indent: 0, into: &out)
        case .list(let items) where !items.isEmpty && !isFlowList(items):
            writeListBody(items, indent: 0, into: &out)
        default:
            writeInline(value, indent: 0, into: &out)
            out.append(newline)
        }
        return out
    }

    private static let newline = UInt8(ascii: "\n")
    private static let space = UInt8(ascii: " ")

    private static func indentation(_ count: Int, into out: inout [UInt8]) {
        for _ in 0..<count { out.append(space) }
    }

    private static func writeMapBody(_ pairs: [YAMLPair], indent: Int, into out: inout [UInt8], firstIndented: Bool = true) {
        for (index, pair) in pairs.enumerated() {
            if index > 0 || firstIndented { indentation(indent, into: &out) }
            writeScalar(pair.key, indent: indent, into: &out, allowBlock: false)
            out.append(UInt8(ascii: ":"))
            writeValueAfterKey(pair.value, indent: indent, into: &out)
        }
    }

    private static func writeListBody(_ items: [YAMLValue], indent: Int, into out: inout [UInt8], firstIndented: Bool = true) {
        for (index, item) in items.enumerated() {
            if index > 0 || firstIndented { indentation(indent, into: &out) }
            out.append(UInt8(ascii: "-"))
            switch item {
            case .map(let pairs) where !pairs.isEmpty:
                out.append(space)
                writeMapBody(pairs, indent: indent + 2, into: &out, firstIndented: false)
            case .list(let inner) where !inner.isEmpty && !isFlowList(inner):
                out.append(space)
                writeListBody(inner, indent: indent + 2, into: &out, firstIndented: false)
            default:
                out.append(space)
                writeInline(item, indent: indent, into: &out)
                out.append(newline)
            }
        }
    }

    /// After `key:` — nested collections go on the next lines, scalars on the same line.
    private static func writeValueAfterKey(_ value: YAMLValue, indent: Int, into out: inout [UInt8]) {
        switch value {
        case .map(let pairs) where !pairs.isEmpty:
            out.append(newline)
            writeMapBody(pairs, indent: indent + 2, into: &out)
        case .list(let items) where !items.isEmpty && !isFlowList(items):
            out.append(newline)
            writeListBody(items, indent: indent + 2, into: &out)
        default:
            out.append(space)
            writeInline(value, indent: indent, into: &out)
            out.append(newline)
        }
    }

    /// Scalars, empty collections and short lists of one-line strings (`[a, b]`).
    private static func writeInline(_ value: YAMLValue, indent: Int, into out: inout [UInt8]) {
        switch value {
        case .string(let text): writeScalar(text, indent: indent, into: &out, allowBlock: true)
        case .int(let number): out.append(contentsOf: String(number).utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .seconds(let seconds): out.append(contentsOf: formatSeconds(seconds).utf8)
        case .map: out.append(contentsOf: "{}".utf8)
        case .list(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(contentsOf: ", ".utf8) }
                if case .string(let text) = item {
                    writeScalar(text, indent: indent, into: &out, allowBlock: false)
                } else {
                    writeInline(item, indent: indent, into: &out)
                }
            }
            out.append(UInt8(ascii: "]"))
        }
    }

    /// Lists of at most a few short single-line strings read best on one line.
    private static func isFlowList(_ items: [YAMLValue]) -> Bool {
        var width = 0
        for item in items {
            switch item {
            case .string(let text):
                if text.utf8.contains(newline) { return false }
                width += text.utf8.count + 4
            case .int, .bool, .seconds:
                width += 8
            default:
                return false
            }
        }
        return width <= 100
    }

    /// Seconds with millisecond precision, as `0.125`.
    public static func formatSeconds(_ seconds: Double) -> String {
        let millis = Int((seconds * 1000).rounded())
        let digits = String(abs(millis) % 1000)
        return (millis < 0 ? "-" : "") + "\(abs(millis) / 1000)." + String(repeating: "0", count: 3 - digits.count) + digits
    }

    // MARK: - Scalars

    private enum Style { case plain, literal, singleQuoted, doubleQuoted }

    private static func writeScalar(_ text: String, indent: Int, into out: inout [UInt8], allowBlock: Bool) {
        switch style(for: text, allowBlock: allowBlock) {
        case .plain:
            out.append(contentsOf: text.utf8)
        case .singleQuoted:
            out.append(UInt8(ascii: "'"))
            for byte in text.utf8 {
                if byte == UInt8(ascii: "'") { out.append(byte) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "'"))
        case .literal:
            writeLiteral(text, indent: indent, into: &out)
        case .doubleQuoted:
            writeDoubleQuoted(text, into: &out)
        }
    }

    private static func style(for text: String, allowBlock: Bool) -> Style {
        var printable = true
        var hasNewline = false
        var hasTab = false
        var plainSafe = true
        var onlyNewlines = true
        for (index, scalar) in text.unicodeScalars.enumerated() {
            let value = scalar.value
            if value == 0x0A {
                hasNewline = true
                plainSafe = false
                continue
            }
            onlyNewlines = false
            if value == 0x09 {
                hasTab = true
                plainSafe = false
                continue
            }
            if !isPrintable(value) {
                printable = false
                break
            }
            if plainSafe && !isPlainCharacter(value, first: index == 0) { plainSafe = false }
        }
        if !printable { return .doubleQuoted }
        // Text made of line breaks alone has no content line for a literal block to hold.
        if hasNewline { return allowBlock && !onlyNewlines ? .literal : .doubleQuoted }
        if hasTab { return .doubleQuoted }
        if plainSafe && isPlainWord(text) { return .plain }
        return .singleQuoted
    }

    /// Characters YAML allows unescaped in scalar text, minus the line breaks and markers that
    /// some readers treat specially (NEL, LINE/PARAGRAPH SEPARATOR, BOM). Tab and line feed are
    /// handled by the caller: raw only inside literal blocks.
    private static func isPrintable(_ value: UInt32) -> Bool {
        switch value {
        case 0x20...0x7E: true
        case 0xA0...0xD7FF: value != 0x2028 && value != 0x2029
        case 0xE000...0xFFFD: value != 0xFEFF
        case 0x10000...0x10FFFF: true
        default: false
        }
    }

    private static func isPlainCharacter(_ value: UInt32, first: Bool) -> Bool {
        switch value {
        case 0x61...0x7A, 0x41...0x5A, 0x5F, 0x2F: true  // a-z A-Z _ /
        case 0x30...0x39, 0x2E, 0x2D, 0x40, 0x25, 0x2B, 0x3D, 0x20: !first  // 0-9 . - @ % + = space
        default: false
        }
    }

    private static let reserved: Set<String> = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
    ]

    private static func isPlainWord(_ text: String) -> Bool {
        guard let last = text.utf8.last, last != space else { return false }
        if text.utf8.count <= 5 && reserved.contains(text.lowercased()) { return false }
        // Double spaces are harmless in YAML but easy to misread; quote them.
        return !text.hasDoubled(" ")
    }

    private static func writeLiteral(_ text: String, indent: Int, into out: inout [UInt8]) {
        let bytes = Array(text.utf8)
        var trailingNewlines = 0
        for byte in bytes.reversed() {
            guard byte == newline else { break }
            trailingNewlines += 1
        }
        let body = bytes[..<(bytes.count - trailingNewlines)]
        out.append(UInt8(ascii: "|"))
        // An explicit indentation indicator when the first non-empty line starts with a space or
        // a tab (otherwise the reader would take it for indentation).
        if let firstContent = body.first(where: { $0 != newline }), firstContent == space || firstContent == UInt8(ascii: "\t") {
            out.append(UInt8(ascii: "2"))
        }
        switch trailingNewlines {
        case 0: out.append(UInt8(ascii: "-"))
        case 1: break
        default: out.append(UInt8(ascii: "+"))
        }
        out.append(newline)
        // The caller ends the scalar with a newline, so the last content line gets none here.
        let lines = body.split(separator: newline, omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            if index > 0 { out.append(newline) }
            if !line.isEmpty {
                indentation(indent + 2, into: &out)
                out.append(contentsOf: line)
            }
        }
        // Keep chomping (`+`) needs the extra empty lines spelled out.
        if trailingNewlines > 1 {
            for _ in 1..<trailingNewlines { out.append(newline) }
        }
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    private static func writeDoubleQuoted(_ text: String, into out: inout [UInt8]) {
        writeDoubleQuoted(scalars: text.unicodeScalars, into: &out)
    }

    /// `text` as a YAML double-quoted scalar, every character that needs it escaped (for a value
    /// spliced into a config file, as `cafe peer add` does).
    public static func doubleQuoted(_ text: String) -> String {
        var out: [UInt8] = []
        writeDoubleQuoted(text, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `utf8` as a double-quoted scalar without making a `String` of it (for secrets).
    /// Invalid UTF-8 sequences become U+FFFD.
    public static func appendDoubleQuoted(utf8: UnsafeRawBufferPointer, into out: inout [UInt8]) {
        var iterator = utf8.makeIterator()
        var decoder = UTF8()
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(utf8.count)
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): scalars.append(scalar)
            case .emptyInput: break loop
            case .error: scalars.append("\u{FFFD}")
            }
        }
        writeDoubleQuoted(scalars: scalars, into: &out)
        scalars.withUnsafeMutableBytes { SecretBytes.wipe($0) }
    }

    /// Appends `key` as a mapping key followed by `: `.
    public static func appendKey(_ key: String, into out: inout [UInt8]) {
        writeScalar(key, indent: 0, into: &out, allowBlock: false)
        out.append(contentsOf: ": ".utf8)
    }

    private static func writeDoubleQuoted(scalars: some Sequence<Unicode.Scalar>, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for scalar in scalars {
            let value = scalar.value
            switch value {
            case 0x22: out.append(contentsOf: "\\\"".utf8)
            case 0x5C: out.append(contentsOf: "\\\\".utf8)
            case 0x0A: out.append(contentsOf: "\\n".utf8)
            case 0x09: out.append(contentsOf: "\\t".utf8)
            case 0x0D: out.append(contentsOf: "\\r".utf8)
            case 0x00: out.append(contentsOf: "\\0".utf8)
            case _ where value < 0x20 || (value >= 0x7F && value <= 0x9F):
                out.append(contentsOf: "\\x".utf8)
                out.append(hexDigits[Int(value >> 4)])
                out.append(hexDigits[Int(value & 0xF)])
            case 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF:
                out.append(contentsOf: "\\u".utf8)
                for shift in stride(from: 12, through: 0, by: -4) {
                    out.append(hexDigits[Int((value >> UInt32(shift)) & 0xF)])
                }
            default:
                UTF8.encode(scalar) { out.append($0) }
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
