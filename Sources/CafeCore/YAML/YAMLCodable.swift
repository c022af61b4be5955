/// A value with one YAML form, read by ``init(_:)`` and written by ``yamlValue``: the only coder
/// of that form, so that the wire, batch files, the command map and results read it under the
/// same rules (the same limits, the same unknown-key errors with "did you mean").
///
/// Readers refuse what the writer would not write, with an ``InputError`` that names the source,
/// line, column and field path (``YAMLReader/error(_:hint:)``). What ``yamlValue`` emits is signed
/// in envelopes and executed files: a writer must never change the text it gives for a value.
///
/// ```swift
/// let groups = try reader.list(of: HostGroup.self)
/// pairs.append(YAMLPair("groups", .list(groups.map(\.yamlValue))))
/// ```
public protocol YAMLCodable {
    /// Reads the value at `reader`.
    init(_ reader: YAMLReader) throws
    /// The value in its YAML form, for ``YAMLEmitter``.
    var yamlValue: YAMLValue { get }
}

/// A ``YAMLCodable`` value whose form is a mapping with a fixed set of keys. Its pairs may also be
/// written among the keys of a larger mapping: a command's `run:` among its result's keys, a host
/// result among a result envelope's.
public protocol YAMLMappingCodable: YAMLCodable {
    /// The keys the mapping may hold; any other is refused (with a "did you mean").
    static var yamlKeys: [String] { get }
    /// Reads the value from `mapping`, whose keys the caller has checked.
    init(_ mapping: YAMLMapping) throws
    /// The value's key/value pairs, in the order they are written.
    var yamlPairs: [YAMLPair] { get }
}

extension YAMLMappingCodable {
    /// Reads a mapping that holds only ``yamlKeys``.
    public init(_ reader: YAMLReader) throws {
        try self.init(try reader.mapping(allowed: Self.yamlKeys))
    }

    public var yamlValue: YAMLValue { .map(yamlPairs) }
}

/// A word from a fixed set (a state, a kind, a status), written as its raw value. Any other word
/// is refused with the list of words allowed.
public protocol YAMLWord: YAMLCodable, RawRepresentable, CaseIterable where RawValue == String {
    /// What the word names, for errors: `a request state`.
    static var yamlMeaning: String { get }
}

extension YAMLWord {
    public init(_ reader: YAMLReader) throws {
        let text = try reader.string()
        guard let word = Self(rawValue: text) else {
            throw reader.error(
                "'\(text.prefix(40))' is not \(Self.yamlMeaning)", hint: "one of " + Self.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = word
    }

    public var yamlValue: YAMLValue { .string(rawValue) }
}

extension Timestamp: YAMLCodable {
    /// An ISO 8601 time in UTC as ``description`` writes it.
    public init(_ reader: YAMLReader) throws {
        guard let time = Timestamp(iso8601: try reader.string()) else {
            throw reader.error("is not a time like 2026-11-29T15:30:12.345Z")
        }
        self = time
    }

    public var yamlValue: YAMLValue { .string(description) }
}

extension YAMLReader {
    /// The items of a list, each read by `type`'s coder.
    public func list<Value: YAMLCodable>(of type: Value.Type) throws -> [Value] {
        try sequence().map(Value.init)
    }

    /// As ``list(of:)``, refusing an empty list with `message` (`lists no commands`).
    public func nonEmptyList<Value: YAMLCodable>(of type: Value.Type, else message: String) throws -> [Value] {
        let items = try list(of: type)
        guard !items.isEmpty else { throw error(message) }
        return items
    }

    /// A request name (``Names/isValidRequest(_:)``).
    public func requestName() throws -> String {
        let name = try string()
        guard Names.isValidRequest(name) else { throw error(Self.notARequestName(name)) }
        return name
    }

    static func notARequestName(_ name: String) -> String {
        "'\(name)' is not a valid request name (letters, digits, _ . -)"
    }

    /// A node name (``Names/isValidNode(_:)``).
    public func nodeName() throws -> String {
        let name = try string()
        guard Names.isValidNode(name) else { throw error("'\(name)' is not a valid node name") }
        return name
    }
}

extension YAMLMapping {
    /// Every entry of a mapping keyed by request names (commands.yaml, delivery.yaml).
    public func requestEntries() throws -> [(key: String, value: YAMLReader)] {
        try entries(validKey: Names.isValidRequest, YAMLReader.notARequestName)
    }
}
