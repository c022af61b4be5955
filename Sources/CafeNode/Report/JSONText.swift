import CafeCore

/// JSON text from a ``YAMLValue`` tree, for `--json` output.
enum JSONText {
    static func encode(_ value: YAMLValue) -> String {
        var out = ""
        write(value, into: &out)
        return out
    }

    private static func write(_ value: YAMLValue, into out: inout String) {
        switch value {
        case .string(let text): writeString(text, into: &out)
        case .int(let number): out += String(number)
        case .bool(let flag): out += flag ? "true" : "false"
        case .seconds(let seconds): out += YAMLEmitter.formatSeconds(seconds)
        case .list(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                write(item, into: &out)
            }
            out += "]"
        case .map(let pairs):
            out += "{"
            for (index, pair) in pairs.enumerated() {
                if index > 0 { out += "," }
                writeString(pair.key, into: &out)
                out += ":"
                write(pair.value, into: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
