/// Line-level edits of a config file that keep everything else as written: comments, blank
/// lines, order and quoting. An entry is added as one line at the end of its mapping, or
/// removed with the lines it spans; the caller checks the result before writing it.
public enum ConfigEditor {
    /// `text` with `entry` (one line, without indentation) added as the last entry of the
    /// top-level mapping `section` (created at the end of the file when missing), or of the
    /// top-level mapping itself when `section` is nil.
    public static func add(_ entry: String, under section: String?, in text: String, source: String) throws -> String {
        var lines = Self.lines(text)
        let root = try rootEntries(text, source: source)
        guard let section else {
            lines.insert(entry, at: root.isEmpty ? lines.count : lastContentLine(lines, from: 0, before: lines.count) + 1)
            return joined(lines)
        }
        guard let index = root.firstIndex(where: { $0.key.text == section }) else {
            let end = root.isEmpty ? lines.count : lastContentLine(lines, from: 0, before: lines.count) + 1
            lines.insert(contentsOf: ["\(section):", "  " + entry], at: end)
            return joined(lines)
        }
        let keyLine = root[index].key.mark.line - 1
        let blockEnd = index + 1 < root.count ? root[index + 1].key.mark.line - 1 : lines.count
        switch root[index].value {
        case .mapping(let entries, let mark) where !entries.isEmpty:
            guard mark.line - 1 > keyLine else {
                throw InputError(
                    source: source, line: keyLine + 1, field: section,
                    message: "is written in flow style ({…}); only block style can be edited here",
                    hint: "write one entry per line under \(section):")
            }
            let indent = String(repeating: " ", count: entries[0].key.mark.column - 1)
            lines.insert(indent + entry, at: lastContentLine(lines, from: keyLine, before: blockEnd) + 1)
        default:
            // `section:` with nothing, `~` or `{}` after it: the entry becomes its first.
            guard Self.isEmpty(root[index].value) else {
                throw InputError(source: source, line: keyLine + 1, field: section, message: "is not a mapping")
            }
            lines[keyLine] = "\(section):"
            lines.insert("  " + entry, at: keyLine + 1)
        }
        return joined(lines)
    }

    /// `text` without the entry `key` of the top-level mapping `section` (or of the top-level
    /// mapping itself when `section` is nil): its key line and every line up to the next entry.
    public static func remove(_ key: String, under section: String?, in text: String, source: String) throws -> String {
        var lines = Self.lines(text)
        let root = try rootEntries(text, source: source)
        var entries = root
        var blockEnd = lines.count
        if let section {
            guard let index = root.firstIndex(where: { $0.key.text == section }), case .mapping(let inner, let mark) = root[index].value else {
                throw InputError(source: source, field: section, message: "has no entries")
            }
            guard mark.line > root[index].key.mark.line else {
                throw InputError(
                    source: source, line: mark.line, field: section, message: "is written in flow style ({…}); only block style can be edited here",
                    hint: "write one entry per line under \(section):")
            }
            entries = inner
            if index + 1 < root.count { blockEnd = root[index + 1].key.mark.line - 1 }
        }
        guard let index = entries.firstIndex(where: { $0.key.text == key }) else {
            throw InputError(source: source, field: section.map { "\($0).\(key)" } ?? key, message: "'\(key)' is not there")
        }
        let start = entries[index].key.mark.line - 1
        let end = index + 1 < entries.count ? entries[index + 1].key.mark.line - 1 : lastContentLine(lines, from: start, before: blockEnd) + 1
        lines.removeSubrange(start..<max(start + 1, end))
        return joined(lines)
    }

    /// An empty mapping, or a plain empty, `~` or `null` value.
    static func isEmpty(_ node: YAMLNode) -> Bool {
        switch node {
        case .mapping(let entries, _): entries.isEmpty
        case .scalar(let scalar): scalar.isPlain && ["", "~", "null"].contains(scalar.text)
        case .sequence: false
        }
    }

    static func rootEntries(_ text: String, source: String) throws -> [YAMLEntry] {
        guard let root = try YAMLParser.parse(text, limits: .config, source: source) else { return [] }
        guard case .mapping(let entries, _) = root else { throw InputError(source: source, line: 1, message: "is not a mapping") }
        return entries
    }

    static func lines(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    static func joined(_ lines: [String]) -> String { lines.joined(separator: "\n") + "\n" }

    /// The last line in `from..<before` that is neither blank nor a comment (`from` if none).
    static func lastContentLine(_ lines: [String], from: Int, before: Int) -> Int {
        var line = min(before, lines.count) - 1
        while line > from {
            let trimmed = lines[line].drop { $0 == " " || $0 == "\t" }
            if !trimmed.isEmpty && !trimmed.hasPrefix("#") { return line }
            line -= 1
        }
        return from
    }
}
