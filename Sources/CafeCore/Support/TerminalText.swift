/// Text made safe to print on a terminal. Batch names, notes, reasons and command output come
/// from files and peers; printed raw, an escape sequence in them could recolour, retitle or
/// rewrite the operator's screen (or hide a line). Every control character (C0, DEL, C1) and
/// every bidirectional override is shown as a visible `\u{…}` escape instead.
public enum TerminalText {
    /// `text` with control and bidirectional-override characters escaped; tabs kept when
    /// `keepTabs`, line breaks never (one field, one line).
    public static func safe(_ text: String, keepTabs: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { isUnsafe($0) && !(keepTabs && $0 == "\t") }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if isUnsafe(scalar) && !(keepTabs && scalar == "\t") {
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: true
        default: false
        }
    }
}
