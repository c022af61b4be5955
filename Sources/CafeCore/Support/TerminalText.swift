/// Text made safe to print on a terminal, or to put in an HTML page. Batch names, notes, reasons
/// and command output come from files and peers; printed raw, an escape sequence in them could
/// recolour, retitle or rewrite the operator's screen (or hide a line), and markup in them could
/// run script in a report page. Every control character (C0, DEL, C1) and every bidirectional
/// override is shown as a visible `\u{…}` escape instead, on a terminal and in HTML alike.
public enum TerminalText {
    /// `text` with control and bidirectional-override characters escaped; tabs kept when
    /// `keepTabs`, line breaks never (one field, one line).
    public static func safe(_ text: String, keepTabs: Bool = false) -> String {
        escaped(text) { scalar in
            keepTabs && scalar == "\t" ? nil : visible(scalar)
        }
    }

    /// `text` as HTML character data or the value of a double- or single-quoted attribute: what
    /// ``safe(_:keepTabs:)`` escapes, escaped the same way, and `&`, `<`, `>`, `"`, `'` as
    /// character references. `multiline` keeps line breaks and tabs (for `<pre>`).
    ///
    /// ```swift
    /// TerminalText.html("<b>\"x\" & \u{1B}[2J")  // "&lt;b&gt;&quot;x&quot; &amp; \\u{1B}[2J"
    /// ```
    public static func html(_ text: String, multiline: Bool = false) -> String {
        escaped(text) { scalar in
            switch scalar {
            case "&": "&amp;"
            case "<": "&lt;"
            case ">": "&gt;"
            case "\"": "&quot;"
            case "'": "&#39;"
            case "\n", "\t": multiline ? nil : visible(scalar)
            default: visible(scalar)
            }
        }
    }

    /// `\u{1B}` for a control or bidirectional-override character; nil for any other.
    private static func visible(_ scalar: Unicode.Scalar) -> String? {
        isUnsafe(scalar) ? "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}" : nil
    }

    /// `text` with each scalar that `replacement` has a replacement for replaced.
    private static func escaped(_ text: String, _ replacement: (Unicode.Scalar) -> String?) -> String {
        guard text.unicodeScalars.contains(where: { replacement($0) != nil }) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if let replaced = replacement(scalar) {
                out += replaced
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
