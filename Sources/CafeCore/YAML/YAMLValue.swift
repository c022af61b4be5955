/// A value to be written as YAML by ``YAMLEmitter``: the output side of ``YAMLNode``.
public indirect enum YAMLValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    /// A number written with three decimals (durations in seconds).
    case seconds(Double)
    case list([YAMLValue])
    case map([YAMLPair])

    /// A list of strings.
    public static func strings(_ items: [String]) -> YAMLValue {
        .list(items.map { .string($0) })
    }
}

/// One key and value of a ``YAMLValue/map(_:)``.
public struct YAMLPair: Sendable, Equatable {
    public var key: String
    public var value: YAMLValue

    public init(_ key: String, _ value: YAMLValue) {
        self.key = key
        self.value = value
    }
}
