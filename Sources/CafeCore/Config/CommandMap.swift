/// One request's entry in `commands.yaml`: the commands to run, in order, and their limits.
public struct CommandMapEntry: Sendable, Hashable {
    public var commands: [CommandSpec]
    /// Seconds each command may run.
    public var timeout: Double
    /// Bytes kept of each command's stdout and stderr.
    public var outputCap: Int

    public init(commands: [CommandSpec], timeout: Double = Command.defaultTimeout, outputCap: Int = Command.defaultOutputCap) {
        self.commands = commands
        self.timeout = timeout
        self.outputCap = outputCap
    }
}

/// A host's own `commands.yaml`: request name → commands this host runs for it.
///
/// ```yaml
/// activate_dialup:                       # a list: the commands, default limits
///   - /usr/bin/blahh                     # a string runs under /bin/sh -c
///   - ["/usr/sbin/useradd", "-m", "--", "{{username:operand}}"]   # a list is argv, no shell
/// rebuild_index:                         # a mapping: commands plus limits
///   timeout: 3600
///   output-cap: 4194304
///   commands:
///     - /usr/local/bin/reindex
/// ```
public struct CommandMap: Sendable, Hashable {
    public var entries: [String: CommandMapEntry]

    public init(entries: [String: CommandMapEntry] = [:]) {
        self.entries = entries
    }

    public func entry(for request: String) -> CommandMapEntry? { entries[request] }

    /// Largest `output-cap`: 4 MiB per stream (a whole result must fit in one envelope).
    public static let maxOutputCap = 4 << 20

    /// Longest accepted timeout: a week.
    public static let maxTimeout: Double = 7 * 86_400

    /// Reads `commands.yaml`.
    public init(yaml bytes: some Collection<UInt8>, source: String) throws {
        guard let root = try YAMLParser.parse(bytes, limits: .config, source: source) else {
            self.init()
            return
        }
        var entries: [String: CommandMapEntry] = [:]
        let mapping = try YAMLReader(node: root, source: source).mapping()
        for (name, value) in try mapping.requestEntries() {
            entries[name] = try Self.entry(value)
        }
        self.init(entries: entries)
    }

    private static func entry(_ reader: YAMLReader) throws -> CommandMapEntry {
        if case .sequence = reader.node {
            return CommandMapEntry(commands: try commands(reader))
        }
        let mapping = try reader.mapping(allowed: ["commands", "timeout", "output-cap"])
        var entry = CommandMapEntry(commands: try commands(try mapping.required("commands")))
        if let timeout = mapping.optional("timeout") {
            entry.timeout = try timeout.seconds()
            guard entry.timeout > 0, entry.timeout <= maxTimeout else {
                throw timeout.error("must be more than 0 and at most \(Int(maxTimeout)) seconds")
            }
        }
        if let cap = mapping.optional("output-cap") {
            entry.outputCap = try cap.int()
            guard entry.outputCap >= 0, entry.outputCap <= Self.maxOutputCap else {
                throw cap.error("must be between 0 and \(Self.maxOutputCap) bytes")
            }
        }
        return entry
    }

    /// An entry's commands, in their short form.
    private static func commands(_ reader: YAMLReader) throws -> [CommandSpec] {
        try reader.nonEmptyList(of: CommandSpec.ShortForm.self, else: "lists no commands").map(\.spec)
    }
}
