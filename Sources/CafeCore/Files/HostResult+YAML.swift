/// A host's result: the body a host signs, inside result envelopes and (unsigned) in executed
/// batch files. `command-digest` is optional on read (older results lack it).
extension HostResult: YAMLMappingCodable {
    public static let yamlKeys = ["host", "state", "message", "command-digest", "commands", "leaves", "leaf-groups", "leaf-checks"]

    public var yamlPairs: [YAMLPair] {
        var pairs = [YAMLPair("host", .string(host)), YAMLPair("state", state.yamlValue)]
        if let message { pairs.append(YAMLPair("message", .string(message))) }
        if let commandDigest { pairs.append(YAMLPair("command-digest", .string(commandDigest))) }
        pairs.append(YAMLPair("commands", .list(commands.map(\.yamlValue))))
        if !leaves.isEmpty { pairs.append(YAMLPair("leaves", .list(leaves.map(\.yamlValue)))) }
        if !leafGroups.isEmpty { pairs.append(YAMLPair("leaf-groups", .list(leafGroups.map(\.yamlValue)))) }
        if !leafChecks.isEmpty { pairs.append(YAMLPair("leaf-checks", .list(leafChecks.map(\.yamlValue)))) }
        return pairs
    }

    public init(_ mapping: YAMLMapping) throws {
        self.init(
            host: try mapping.required("host").nodeName(), state: try HostState(try mapping.required("state")),
            message: try mapping.optional("message")?.string(),
            commands: try mapping.optional("commands")?.list(of: CommandResult.self) ?? [],
            leaves: try mapping.optional("leaves")?.list(of: HostRecord.self) ?? [],
            leafGroups: try mapping.optional("leaf-groups")?.list(of: HostGroup.self) ?? [],
            leafChecks: try mapping.optional("leaf-checks")?.list(of: GroupCheck.self) ?? [],
            commandDigest: try mapping.optional("command-digest")?.sha256Digest())
    }
}

extension HostState: YAMLWord {
    public static let yamlMeaning = "a host state"
}

/// A host's entry in an executed batch file: its state, the origin's note, and the signed
/// result text (or, for results that were never signed, the result's fields). The signed text
/// is kept as it is; decoding and verifying it is the job of `CafeWire`, so ``result`` is only
/// filled for unsigned entries here.
extension HostRecord: YAMLMappingCodable {
    public static let yamlKeys = ["host", "state", "note", "result", "unsigned-result"]

    public var yamlPairs: [YAMLPair] {
        var pairs = [YAMLPair("host", .string(host)), YAMLPair("state", state.yamlValue)]
        if let note { pairs.append(YAMLPair("note", .string(note))) }
        if let signedResult {
            pairs.append(YAMLPair("result", .string(signedResult)))
        } else if let result {
            pairs.append(YAMLPair("unsigned-result", result.yamlValue))
        }
        return pairs
    }

    public init(_ mapping: YAMLMapping) throws {
        self.init(
            host: try mapping.required("host").nodeName(), state: try HostState(try mapping.required("state")),
            note: try mapping.optional("note")?.string(),
            result: try mapping.optional("unsigned-result").map(HostResult.init),
            signedResult: try mapping.optional("result")?.string())
    }
}

/// `{group: G, request: NAME, index: N, hosts: [records]}`, under a request's `checks:` in an
/// executed file and a forwarding host's `leaf-checks:`.
extension GroupCheck: YAMLMappingCodable {
    public static let yamlKeys = ["group", "request", "index", "hosts"]

    public var yamlPairs: [YAMLPair] {
        [
            YAMLPair("group", .int(group)), YAMLPair("request", .string(request)), YAMLPair("index", .int(index)),
            YAMLPair("hosts", .list(records.map(\.yamlValue))),
        ]
    }

    public init(_ mapping: YAMLMapping) throws {
        let request = try mapping.required("request").requestName()
        self.init(
            group: try mapping.required("group").int(), request: request, index: try mapping.required("index").int(),
            records: try mapping.required("hosts").list(of: HostRecord.self))
    }
}
