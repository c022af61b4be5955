/// A value to be written as YAML by ``YAMLEmitter``: the output side of ``YAMLNode``.
public indirect enum YAMLValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    /// A number written with three decimals (durations in seconds).
    case seconds(Double)
    case null
    case list([YAMLValue])
    case map([YAMLPair])

    /// Builds a mapping from key/value pairs, keeping their order.
    public static func map(_ pairs: KeyValuePairs<String, YAMLValue>) -> YAMLValue {
        .map(pairs.map { YAMLPair($0.key, $0.value) })
    }

    /// A list of strings.
    public static func strings(_ items: [String]) -> YAMLValue {
        .list(items.map { .string($0) })
    }
}

/// One key and value of a ``YAMLValue/map(_:)-swift.enum.case``.
public struct YAMLPair: Sendable, Equatable {
    public var key: String
    public var value: YAMLValue

    public init(_ key: String, _ value: YAMLValue) {
        self.key = key
        self.value = value
    }
}
