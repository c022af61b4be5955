extension Batch {
    /// The comment at the top of every executed batch file.
    public static let executedComment = [
        "CafeBatch executed batch file. Each host's result is signed by that host;",
        "check every signature with: cafe verify THIS_FILE",
    ]

    /// The executed batch file: every request, every host, every command with its full result.
    public var executedYAML: [UInt8] {
        var pairs = [
            YAMLPair("batch", .string(id.rawValue)), YAMLPair("name", .string(name)), YAMLPair("origin", .string(origin)),
            YAMLPair("state", state.yamlValue), YAMLPair("created", created.yamlValue),
        ]
        if let finished { pairs.append(YAMLPair("finished", finished.yamlValue)) }
        if let cancelled { pairs.append(YAMLPair("cancelled", cancelled.yamlValue)) }
        pairs.append(YAMLPair("requests", .list(requests.map { .map($0.executedPairs) })))
        return YAMLEmitter.bytes(.map(pairs), comment: Self.executedComment)
    }

    /// The original batch as saved to `batches/original/ID.yaml` before anything runs.
    /// Secret values must already be sealed (`sealed:…`); clear ones are refused so that no file
    /// ever holds a secret in clear.
    public func originalYAML() throws -> [UInt8] {
        for request in requests {
            for secret in request.data.secrets {
                guard case .sealed = secret.value else {
                    throw EnvironmentError("secret '\(secret.key)' of request '\(request.name)' must be sealed before the batch is saved")
                }
            }
        }
        return YAMLEmitter.bytes(
            .map([
                YAMLPair("batch", .string(id.rawValue)), YAMLPair("name", .string(name)),
                YAMLPair("origin", .string(origin)), YAMLPair("created", created.yamlValue),
                YAMLPair("requests", .list(requests.map { .map($0.storedPairs(secrets: .sealed)) })),
            ]),
            comment: ["CafeBatch original batch, saved before it ran. Secrets are sealed to the origin's key."])
    }

    /// Reads a saved original batch (secrets stay sealed).
    public init(originalYAML bytes: some Collection<UInt8>, source: String) throws {
        let root = try YAMLReader.document(bytes, limits: .batchFile, source: source)
        let mapping = try root.mapping(allowed: ["batch", "name", "origin", "created", "requests"])
        let requests = try mapping.required("requests").sequence().map { reader in
            try Request(stored: try reader.mapping(allowed: Request.storedKeys), secrets: .sealed)
        }
        try self.init(header: mapping, requests: requests)
    }

    /// Reads an executed batch file (its `signature:` line, if any, is checked by `CafeWire`,
    /// not here). Signed results are kept as text in each
    /// ``HostRecord/signedResult``; verifying and decoding them is `CafeWire`'s job.
    public init(executedYAML bytes: some Collection<UInt8>, source: String) throws {
        let root = try YAMLReader.document(bytes, limits: .executedBatchFile, source: source)
        let mapping = try root.mapping(
            allowed: ["batch", "name", "origin", "state", "created", "finished", "cancelled", "requests", "credentials", "signature"])
        let requests = try mapping.required("requests").sequence().map { reader in
            try Request(executed: try reader.mapping(allowed: Request.storedKeys + Request.executedKeys))
        }
        try self.init(header: mapping, requests: requests)
        state = try BatchState(try mapping.required("state"))
        finished = try mapping.optional("finished").map(Timestamp.init)
        cancelled = try mapping.optional("cancelled").map(Timestamp.init)
    }

    /// The batch from the keys both files begin with, and `requests`.
    private init(header mapping: YAMLMapping, requests: [Request]) throws {
        let idReader = try mapping.required("batch")
        guard let id = BatchID(validating: try idReader.string()) else { throw idReader.error("is not a batch id") }
        let origin = try mapping.required("origin").nodeName()
        let created = try Timestamp(try mapping.required("created"))
        self.init(id: id, name: try mapping.required("name").string(), origin: origin, created: created, requests: requests)
    }
}

extension BatchState: YAMLWord {
    public static let yamlMeaning = "a batch state"
}

extension RequestState: YAMLWord {
    public static let yamlMeaning = "a request state"
}

/// A request in the files of a batch: the original batch file (secrets sealed) and the executed
/// one (secret names only, plus what happened). Input batch files have their own form
/// (``BatchInput``).
extension Request {
    /// The keys of a request in an original batch file.
    static let storedKeys = ["name", "data", "secrets", "commands", "groups", "only", "planned"]
    /// The keys an executed batch file adds.
    static let executedKeys = ["state", "note", "hosts", "checks"]

    /// The request as an original batch file holds it, with secrets in `form`.
    func storedPairs(secrets form: RequestData.SecretsForm) -> [YAMLPair] {
        var pairs = [YAMLPair("name", .string(name))] + data.yamlPairs(secrets: form)
        if isAdhoc { pairs.append(YAMLPair("commands", .list(commands.map(\.spec.yamlValue)))) }
        if let groups { pairs.append(YAMLPair("groups", .list(groups.map(\.yamlValue)))) }
        if let only {
            pairs.append(YAMLPair("only", .map(only.keys.sorted().map { YAMLPair($0, .strings(only[$0] ?? [])) })))
        }
        if let planned {
            pairs.append(YAMLPair("planned", .map(planned.keys.sorted().map { YAMLPair($0, .string(planned[$0] ?? "")) })))
        }
        return pairs
    }

    /// The request as an executed batch file holds it.
    var executedPairs: [YAMLPair] {
        var pairs = storedPairs(secrets: .names) + [YAMLPair("state", state.yamlValue)]
        if let note { pairs.append(YAMLPair("note", .string(note))) }
        pairs.append(YAMLPair("hosts", .list(records.map(\.yamlValue))))
        if !checks.isEmpty { pairs.append(YAMLPair("checks", .list(checks.map(\.yamlValue)))) }
        return pairs
    }

    /// Reads what ``storedPairs(secrets:)`` wrote.
    init(stored mapping: YAMLMapping, secrets form: RequestData.SecretsForm) throws {
        let name = try mapping.required("name").requestName()
        self.init(name: name, data: try RequestData(mapping, secrets: form))
        for spec in try mapping.optional("commands")?.list(of: CommandSpec.self) ?? [] { add(Command(spec)) }
        groups = try mapping.optional("groups")?.list(of: HostGroup.self)
        if let only = mapping.optional("only") {
            var paths: [String: [String]] = [:]
            for (host, value) in try only.mapping().entries(validKey: Names.isValidNode, { "'\($0)' is not a valid host name" }) {
                paths[host] = try value.stringList()
            }
            self.only = paths
        }
        if let planned = mapping.optional("planned") {
            var digests: [String: String] = [:]
            for (host, value) in try planned.mapping().entries(validKey: Names.isValidNode, { "'\($0)' is not a valid host name" }) {
                digests[host] = try value.sha256Digest()
            }
            self.planned = digests
        }
    }

    /// Reads what ``executedPairs`` wrote.
    init(executed mapping: YAMLMapping) throws {
        try self.init(stored: mapping, secrets: .names)
        state = try RequestState(try mapping.required("state"))
        note = try mapping.optional("note")?.string()
        records = try mapping.required("hosts").list(of: HostRecord.self)
        checks = try mapping.optional("checks")?.list(of: GroupCheck.self) ?? []
    }
}
