/// Typed, located access to a parsed ``YAMLNode``: every accessor either returns the value or
/// throws an ``InputError`` that names the source, line, column and field path.
///
/// ```swift
/// let root = try YAMLReader.document(Array(text.utf8), limits: .config, source: "node.yaml")
/// let node = try root.mapping(allowed: ["name", "listen", "peers"])
/// let name = try node.required("name").string()
/// ```
public struct YAMLReader: Sendable {
    public let node: YAMLNode
    /// Dotted path of this node from the document root (`peers.monk1`), empty at the root.
    public let path: String
    public let source: String

    public init(node: YAMLNode, path: String = "", source: String) {
        self.node = node
        self.path = path
        self.source = source
    }

    /// Parses `bytes` and returns a reader on the root; an empty document is an error.
    public static func document(_ bytes: some Collection<UInt8>, limits: YAMLLimits, source: String) throws -> YAMLReader {
        guard let root = try YAMLParser.parse(bytes, limits: limits, source: source) else {
            throw InputError(source: source, line: 1, message: "is empty")
        }
        return YAMLReader(node: root, source: source)
    }

    /// An error located at this node.
    public func error(_ message: String, hint: String? = nil) -> InputError {
        InputError(
            source: source, line: node.mark.line, column: node.mark.column, field: path,
            message: message, hint: hint)
    }

    /// The text of a scalar.
    public func string() throws -> String {
        guard case .scalar(let scalar) = node else {
            throw error("expected a text value, found \(node.kindName)")
        }
        return scalar.text
    }

    /// The text of a scalar that must not be empty.
    public func nonEmptyString() throws -> String {
        let text = try string()
        guard !text.isEmpty else { throw error("must not be empty") }
        return text
    }

    /// A whole number written plainly (`300`).
    public func int() throws -> Int {
        guard case .scalar(let scalar) = node, let value = Int(scalar.text) else {
            throw error("expected a whole number, found \(describe())")
        }
        return value
    }

    /// A number of seconds, whole or with a fraction (`300`, `0.5`).
    public func seconds() throws -> Double {
        guard case .scalar(let scalar) = node, let value = Double(scalar.text), value.isFinite, value >= 0 else {
            throw error("expected a number of seconds, found \(describe())")
        }
        return value
    }

    /// A number of seconds within `range`, so that no time computed from it can overflow.
    public func seconds(in range: ClosedRange<Double>) throws -> Double {
        let value = try seconds()
        guard range.contains(value) else { throw error("must be between \(range.lowerBound) and \(range.upperBound) seconds") }
        return value
    }

    /// A duration: seconds (`300`, `0.5`) or a number with a unit (`30s`, `5m`, `1h`).
    public func duration() throws -> Double {
        guard case .scalar(let scalar) = node else { throw error("expected a duration, found \(node.kindName)") }
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
        var text = Substring(scalar.text)
        var unit = 1.0
        if let last = text.last, let factor = units[last] {
            unit = factor
            text = text.dropLast()
        }
        guard let value = Double(text), value.isFinite, value >= 0 else {
            throw error("expected a duration such as 30s, 5m or 1h, found \(describe())")
        }
        return value * unit
    }

    /// `true` or `false`, written plainly.
    public func bool() throws -> Bool {
        guard case .scalar(let scalar) = node, scalar.isPlain else {
            throw error("expected true or false, found \(describe())")
        }
        switch scalar.text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw error("expected true or false, found \(describe())")
        }
    }

    /// The items of a list.
    public func sequence() throws -> [YAMLReader] {
        guard case .sequence(let items, _) = node else {
            throw error("expected a list, found \(node.kindName)")
        }
        return items.enumerated().map { index, item in
            YAMLReader(node: item, path: "\(path)[\(index)]", source: source)
        }
    }

    /// A list of text values; a single text value is not accepted in its place.
    public func stringList() throws -> [String] {
        try sequence().map { try $0.string() }
    }

    /// The entries of a mapping, refusing any key outside `allowed` (when given).
    public func mapping(allowed: [String]? = nil) throws -> YAMLMapping {
        guard case .mapping(let entries, _) = node else {
            throw error("expected a mapping (key: value), found \(node.kindName)")
        }
        let mapping = YAMLMapping(entries: entries, path: path, source: source, mark: node.mark)
        if let allowed {
            for entry in entries where !allowed.contains(entry.key.text) {
                throw InputError(
                    source: source, line: entry.key.mark.line, column: entry.key.mark.column,
                    field: mapping.childPath(entry.key.text),
                    message: "unknown key '\(entry.key.text)'",
                    hint: YAMLMapping.suggestion(for: entry.key.text, among: allowed))
            }
        }
        return mapping
    }

    /// True for `~`, `null` or an empty plain value.
    public var isNull: Bool {
        guard case .scalar(let scalar) = node, scalar.isPlain else { return false }
        return scalar.text.isEmpty || scalar.text == "~" || scalar.text == "null" || scalar.text == "Null"
            || scalar.text == "NULL"
    }

    private func describe() -> String {
        if case .scalar(let scalar) = node {
            let shown = scalar.text.count > 40 ? String(scalar.text.prefix(40)) + "…" : scalar.text
            return "'\(shown)'"
        }
        return node.kindName
    }
}

/// The entries of a YAML mapping, with located access by key.
public struct YAMLMapping: Sendable {
    public let entries: [YAMLEntry]
    public let path: String
    public let source: String
    public let mark: YAMLMark

    /// The value for `key`, or an error naming the missing key.
    public func required(_ key: String) throws -> YAMLReader {
        guard let reader = optional(key) else { throw error("missing required key '\(key)'") }
        return reader
    }

    /// An error located at the mapping itself (a key it lacks, keys that disagree).
    public func error(_ message: String, hint: String? = nil) -> InputError {
        InputError(source: source, line: mark.line, column: mark.column, field: path, message: message, hint: hint)
    }

    /// Every entry in file order, each key checked by `isValid`; a key that fails is refused at
    /// its own line with `message(key)`.
    public func entries(validKey isValid: (String) -> Bool, _ message: (String) -> String) throws -> [(key: String, value: YAMLReader)] {
        try readers.map { key, mark, value in
            guard isValid(key) else {
                throw InputError(source: source, line: mark.line, column: mark.column, field: childPath(key), message: message(key))
            }
            return (key, value)
        }
    }

    /// The value for `key`, if present.
    public func optional(_ key: String) -> YAMLReader? {
        entries.first { $0.key.text == key }.map {
            YAMLReader(node: $0.value, path: childPath(key), source: source)
        }
    }

    /// Every entry as (key, located key scalar, reader), in file order.
    public var readers: [(key: String, mark: YAMLMark, value: YAMLReader)] {
        entries.map { ($0.key.text, $0.key.mark, YAMLReader(node: $0.value, path: childPath($0.key.text), source: source)) }
    }

    func childPath(_ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// "did you mean …" for a mistyped key, or the list of keys allowed here.
    public static func suggestion(for key: String, among allowed: [String]) -> String {
        let close = allowed.filter { editDistance($0, key) <= 2 }
        if let best = close.min(by: { editDistance($0, key) < editDistance($1, key) }) {
            return "did you mean '\(best)'?"
        }
        return "allowed here: " + allowed.joined(separator: ", ")
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
