extension HostResult {
    /// The result as a YAML mapping; this is the body a host signs.
    public var yamlValue: YAMLValue {
        .map(yamlPairs)
    }

    /// The pairs of ``yamlValue``, for callers that put them in a larger mapping.
    public var yamlPairs: [YAMLPair] {
        var pairs = [YAMLPair("host", .string(host)), YAMLPair("state", .string(state.rawValue))]
        if let message { pairs.append(YAMLPair("message", .string(message))) }
        if let commandDigest { pairs.append(YAMLPair("command-digest", .string(commandDigest))) }
        pairs.append(YAMLPair("commands", .list(commands.map(\.yamlValue))))
        if !leaves.isEmpty { pairs.append(YAMLPair("leaves", .list(leaves.map(\.yamlValue)))) }
        if !leafGroups.isEmpty { pairs.append(YAMLPair("leaf-groups", .list(leafGroups.map(\.yamlValue)))) }
        if !leafChecks.isEmpty { pairs.append(YAMLPair("leaf-checks", .list(leafChecks.map(\.yamlValue)))) }
        return pairs
    }

    /// The keys of ``yamlValue``; `command-digest` is optional on read (older results lack it).
    public static let yamlKeys = ["host", "state", "message", "command-digest", "commands", "leaves", "leaf-groups", "leaf-checks"]

    /// Reads what ``yamlValue`` wrote from `mapping` (the caller decides which keys it allows).
    public init(_ mapping: YAMLMapping) throws {
        let hostReader = try mapping.required("host")
        let host = try hostReader.string()
        guard Names.isValidNode(host) else { throw hostReader.error("'\(host)' is not a valid node name") }
        self.init(
            host: host, state: try HostState(try mapping.required("state")),
            message: try mapping.optional("message")?.string(),
            commands: try mapping.optional("commands")?.sequence().map(CommandResult.init) ?? [],
            leaves: try mapping.optional("leaves")?.sequence().map(HostRecord.init) ?? [],
            leafGroups: try mapping.optional("leaf-groups")?.sequence().map { try HostGroup($0, selectors: false) } ?? [],
            leafChecks: try mapping.optional("leaf-checks")?.sequence().map(GroupCheck.init) ?? [],
            commandDigest: try mapping.optional("command-digest")?.sha256Digest())
    }
}

extension HostState {
    init(_ reader: YAMLReader) throws {
        let text = try reader.string()
        guard let state = HostState(rawValue: text) else {
            throw reader.error(
                "'\(text)' is not a state", hint: "one of " + HostState.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = state
    }
}

extension HostRecord {
    /// A host's entry in an executed batch file: its state, the origin's note, and the signed
    /// result text (or, for results that were never signed, the result's fields).
    public var yamlValue: YAMLValue {
        var pairs = [YAMLPair("host", .string(host)), YAMLPair("state", .string(state.rawValue))]
        if let note { pairs.append(YAMLPair("note", .string(note))) }
        if let signedResult {
            pairs.append(YAMLPair("result", .string(signedResult)))
        } else if let result {
            pairs.append(YAMLPair("unsigned-result", result.yamlValue))
        }
        return .map(pairs)
    }

    /// Reads a host entry. The signed text is kept as is; decoding and verifying it is the job
    /// of `CafeWire`, so ``result`` is only filled for unsigned entries here.
    public init(_ reader: YAMLReader) throws {
        let mapping = try reader.mapping(allowed: ["host", "state", "note", "result", "unsigned-result"])
        let hostReader = try mapping.required("host")
        let host = try hostReader.string()
        guard Names.isValidNode(host) else { throw hostReader.error("'\(host)' is not a valid node name") }
        self.init(
            host: host, state: try HostState(try mapping.required("state")),
            note: try mapping.optional("note")?.string(),
            result: try mapping.optional("unsigned-result").map { try HostResult(try $0.mapping(allowed: HostResult.yamlKeys)) },
            signedResult: try mapping.optional("result")?.string())
    }
}

extension GroupCheck {
    /// `{group: G, request: NAME, index: N, hosts: [records]}`, under a request's `checks:` in
    /// an executed file and a forwarding host's `leaf-checks:`.
    public var yamlValue: YAMLValue {
        .map([
            YAMLPair("group", .int(group)), YAMLPair("request", .string(request)), YAMLPair("index", .int(index)),
            YAMLPair("hosts", .list(records.map(\.yamlValue))),
        ])
    }

    public init(_ reader: YAMLReader) throws {
        let check = try reader.mapping(allowed: ["group", "request", "index", "hosts"])
        let nameReader = try check.required("request")
        let name = try nameReader.string()
        guard Names.isValidRequest(name) else { throw nameReader.error("'\(name)' is not a valid request name") }
        self.init(
            group: try check.required("group").int(), request: name, index: try check.required("index").int(),
            records: try check.required("hosts").sequence().map(HostRecord.init))
    }
}
