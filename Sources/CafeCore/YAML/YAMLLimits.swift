/// Hard limits applied while a YAML text is parsed, so that hostile input (alias bombs,
/// deep nesting, huge scalars, key floods) is refused early and with bounded memory.
public struct YAMLLimits: Sendable, Hashable {
    /// Largest accepted text, checked before any parsing.
    public var maxBytes: Int
    /// Deepest nesting of sequences and mappings.
    public var maxDepth: Int
    /// Largest single scalar, in bytes.
    public var maxScalarBytes: Int
    /// Most entries in one mapping or items in one sequence.
    public var maxCollectionCount: Int
    /// Most nodes in the whole document.
    public var maxNodes: Int

    public init(maxBytes: Int, maxDepth: Int, maxScalarBytes: Int, maxCollectionCount: Int, maxNodes: Int) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxScalarBytes = maxScalarBytes
        self.maxCollectionCount = maxCollectionCount
        self.maxNodes = maxNodes
    }

    /// Configuration files under `config/`.
    public static let config = YAMLLimits(
        maxBytes: 4 << 20, maxDepth: 16, maxScalarBytes: 64 << 10, maxCollectionCount: 100_000, maxNodes: 1_000_000)

    /// Input batch files handed to `cafe batch run`.
    public static let batchFile = YAMLLimits(
        maxBytes: 16 << 20, maxDepth: 16, maxScalarBytes: 1 << 20, maxCollectionCount: 100_000, maxNodes: 1_000_000)

    /// Executed batch files read back by `cafe show`, `cafe status` and `cafe rerun`: 256 MiB
    /// (a batch to tens of thousands of hosts). `cafe verify` applies its own, smaller
    /// `--max-bytes` to files of unknown provenance.
    public static let executedBatchFile = YAMLLimits(
        maxBytes: 256 << 20, maxDepth: 64, maxScalarBytes: 16 << 20, maxCollectionCount: 1_000_000,
        maxNodes: 16_000_000)
}
