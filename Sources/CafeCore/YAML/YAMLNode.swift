/// A position in a YAML text, 1-based, for error messages.
public struct YAMLMark: Sendable, Hashable {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
}

/// A scalar as it appeared in the text: its characters, whether it was written plain
/// (unquoted, so `true` or `300` may mean a boolean or a number) and where it stood.
public struct YAMLScalar: Sendable, Hashable {
    public var text: String
    public var isPlain: Bool
    public var mark: YAMLMark

    public init(text: String, isPlain: Bool, mark: YAMLMark) {
        self.text = text
        self.isPlain = isPlain
        self.mark = mark
    }
}

/// The tree that ``YAMLParser`` builds: scalars, sequences and mappings with string keys,
/// each with its position. No anchors, aliases or tags can be represented, by construction.
public indirect enum YAMLNode: Sendable {
    case scalar(YAMLScalar)
    case sequence([YAMLNode], YAMLMark)
    case mapping([YAMLEntry], YAMLMark)

    /// Where the node starts in the text.
    public var mark: YAMLMark {
        switch self {
        case .scalar(let scalar): scalar.mark
        case .sequence(_, let mark), .mapping(_, let mark): mark
        }
    }

    /// A word for the node's kind, for error messages.
    public var kindName: String {
        switch self {
        case .scalar: "a scalar"
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }
}

/// One key and its value in a mapping, in the order they appeared.
public struct YAMLEntry: Sendable {
    public var key: YAMLScalar
    public var value: YAMLNode

    public init(key: YAMLScalar, value: YAMLNode) {
        self.key = key
        self.value = value
    }
}
