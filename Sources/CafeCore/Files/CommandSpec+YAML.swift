/// The mapping form of a command, `run: TEXT` (runs under `/bin/sh -c`) or `argv: [PROGRAM, ARG]`:
/// what request envelopes, original and executed batch files, command results and the canonical
/// command-map entry hold.
extension CommandSpec: YAMLMappingCodable {
    public static let yamlKeys = ["run", "argv"]

    public init(_ mapping: YAMLMapping) throws {
        if let run = mapping.optional("run") {
            self = .shell(try run.nonEmptyString())
        } else if let argv = mapping.optional("argv") {
            self = .argv(try Self.argv(argv))
        } else {
            throw mapping.error("needs run: or argv:")
        }
    }

    public var yamlPairs: [YAMLPair] {
        switch self {
        case .shell(let text): [YAMLPair("run", .string(text))]
        case .argv(let argv): [YAMLPair("argv", .strings(argv))]
        }
    }

    /// An argv list: text values, the first a program.
    static func argv(_ reader: YAMLReader) throws -> [String] {
        let argv = try reader.stringList()
        guard let program = argv.first, !program.isEmpty else { throw reader.error("an argv list needs a program as its first item") }
        return argv
    }

    /// The short form of a command, as a person writes it in commands.yaml and in a batch
    /// file's `commands:`: a string runs under `/bin/sh -c`, a list is argv (no shell).
    ///
    /// ```yaml
    /// - /usr/bin/blahh
    /// - ["/usr/sbin/useradd", "-m", "{{username}}"]
    /// ```
    public struct ShortForm: YAMLCodable, Sendable {
        public var spec: CommandSpec

        public init(_ spec: CommandSpec) {
            self.spec = spec
        }

        public init(_ reader: YAMLReader) throws {
            if case .sequence = reader.node {
                spec = .argv(try CommandSpec.argv(reader))
            } else {
                spec = .shell(try reader.nonEmptyString())
            }
        }

        public var yamlValue: YAMLValue {
            switch spec {
            case .shell(let text): .string(text)
            case .argv(let argv): .strings(argv)
            }
        }
    }
}
