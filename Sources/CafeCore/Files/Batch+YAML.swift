extension Batch {
    /// The comment at the top of every executed batch file.
    public static let executedComment = [
        "CafeBatch executed batch file. Each host's result is signed by that host;",
        "check every signature with: cafe verify THIS_FILE",
    ]

    /// The executed batch file: every request, every host, every command with its full result.
    public var executedYAML: [UInt8] {
        var pairs = [
            YAMLPair("batch", .string(id.rawValue)),
            YAMLPair("name", .string(name)),
            YAMLPair("origin", .string(origin)),
            YAMLPair("state", .string(state.rawValue)),
            YAMLPair("created", .string(created.description)),
        ]
        if let finished { pairs.append(YAMLPair("finished", .string(finished.description))) }
        if let cancelled { pairs.append(YAMLPair("cancelled", .string(cancelled.description))) }
        pairs.append(YAMLPair("requests", .list(requests.map { request in
            var fields = Self.requestPairs(request, secrets: .strings(request.data.secretKeys))
            fields.append(YAMLPair("state", .string(request.state.rawValue)))
            if let note = request.note { fields.append(YAMLPair("note", .string(note))) }
            fields.append(YAMLPair("hosts", .list(request.records.map(\.yamlValue))))
            if !request.checks.isEmpty {
                fields.append(YAMLPair("checks", .list(request.checks.map(\.yamlValue))))
            }
            return .map(fields)
        })))
        return YAMLEmitter.bytes(.map(pairs), comment: Self.executedComment)
    }

    /// The original batch as saved to `batches/original/ID.yaml` before anything runs.
    /// Secret values must already be sealed (`sealed:…`); clear ones are refused so that no file
    /// ever holds a secret in clear.
    public func originalYAML() throws -> [UInt8] {
        let requestValues: [YAMLValue] = try requests.map { request in
            let sealed: [YAMLPair] = try request.data.secrets.map { secret in
                guard case .sealed(let text) = secret.value else {
                    throw EnvironmentError("secret '\(secret.key)' of request '\(request.name)' must be sealed before the batch is saved")
                }
                return YAMLPair(secret.key, .string(text))
            }
            return .map(Self.requestPairs(request, secrets: .map(sealed)))
        }
        return YAMLEmitter.bytes(
            .map([
                YAMLPair("batch", .string(id.rawValue)), YAMLPair("name", .string(name)),
                YAMLPair("origin", .string(origin)), YAMLPair("created", .string(created.description)),
                YAMLPair("requests", .list(requestValues)),
            ]),
            comment: ["CafeBatch original batch, saved before it ran. Secrets are sealed to the origin's key."])
    }

    private static func requestPairs(_ request: Request, secrets: YAMLValue) -> [YAMLPair] {
        var pairs = [YAMLPair("name", .string(request.name))]
        if !request.data.fields.isEmpty {
            pairs.append(YAMLPair("data", .map(request.data.fields.map { YAMLPair($0.key, .string($0.value)) })))
        }
        if !request.data.secrets.isEmpty { pairs.append(YAMLPair("secrets", secrets)) }
        if request.isAdhoc {
            pairs.append(YAMLPair("commands", .list(request.commands.map { .map([$0.spec.yamlPair]) })))
        }
        if let groups = request.groups { pairs.append(YAMLPair("groups", .list(groups.map(\.yamlValue)))) }
        if let only = request.only {
            pairs.append(YAMLPair("only", .map(only.keys.sorted().map { YAMLPair($0, .strings(only[$0] ?? [])) })))
        }
        if let planned = request.planned {
            pairs.append(YAMLPair("planned", .map(planned.keys.sorted().map { YAMLPair($0, .string(planned[$0] ?? "")) })))
        }
        return pairs
    }

    /// Reads a saved original batch (secrets stay sealed).
    public init(originalYAML bytes: some Collection<UInt8>, source: String) throws {
        let root = try YAMLReader.document(bytes, limits: .batchFile, source: source)
        let mapping = try root.mapping(allowed: ["batch", "name", "origin", "created", "requests"])
        let header = try Self.header(mapping)
        let requests = try mapping.required("requests").sequence().map { reader in
            let fields = try reader.mapping(allowed: ["name", "data", "secrets", "commands", "groups", "only", "planned"])
            var request = try Self.request(fields)
            if let secrets = fields.optional("secrets") {
                for (key, _, value) in try secrets.mapping().readers {
                    try request.data.setSecret(key, .sealed(try value.string()))
                }
            }
            return request
        }
        self.init(id: header.id, name: header.name, origin: header.origin, created: header.created, requests: requests)
    }

    /// Reads an executed batch file (its `signature:` line, if any, is checked by `CafeWire`,
    /// not here). Signed results are kept as text in each
    /// ``HostRecord/signedResult``; verifying and decoding them is `CafeWire`'s job.
    public init(executedYAML bytes: some Collection<UInt8>, source: String) throws {
        let root = try YAMLReader.document(bytes, limits: .executedBatchFile, source: source)
        let mapping = try root.mapping(
            allowed: ["batch", "name", "origin", "state", "created", "finished", "cancelled", "requests", "credentials", "signature"])
        let header = try Self.header(mapping)
        let requests = try mapping.required("requests").sequence().map { reader in
            let fields = try reader.mapping(allowed: ["name", "data", "secrets", "commands", "groups", "only", "planned", "state", "note", "hosts", "checks"])
            var request = try Self.request(fields)
            for key in try fields.optional("secrets")?.stringList() ?? [] {
                try request.data.setSecret(key, .sealed(""))
            }
            let stateReader = try fields.required("state")
            guard let state = RequestState(rawValue: try stateReader.string()) else {
                throw stateReader.error("is not a request state")
            }
            request.state = state
            request.note = try fields.optional("note")?.string()
            request.records = try fields.required("hosts").sequence().map(HostRecord.init)
            request.checks = try fields.optional("checks")?.sequence().map(GroupCheck.init) ?? []
            return request
        }
        self.init(id: header.id, name: header.name, origin: header.origin, created: header.created, requests: requests)
        let stateReader = try mapping.required("state")
        guard let state = BatchState(rawValue: try stateReader.string()) else {
            throw stateReader.error("is not a batch state")
        }
        self.state = state
        if let finished = mapping.optional("finished") {
            guard let time = Timestamp(iso8601: try finished.string()) else { throw finished.error("is not a time") }
            self.finished = time
        }
        if let cancelled = mapping.optional("cancelled") {
            guard let time = Timestamp(iso8601: try cancelled.string()) else { throw cancelled.error("is not a time") }
            self.cancelled = time
        }
    }

    private static func header(_ mapping: YAMLMapping) throws -> (id: BatchID, name: String, origin: String, created: Timestamp) {
        let idReader = try mapping.required("batch")
        guard let id = BatchID(validating: try idReader.string()) else { throw idReader.error("is not a batch id") }
        let originReader = try mapping.required("origin")
        let origin = try originReader.string()
        guard Names.isValidNode(origin) else { throw originReader.error("is not a valid node name") }
        let createdReader = try mapping.required("created")
        guard let created = Timestamp(iso8601: try createdReader.string()) else { throw createdReader.error("is not a time") }
        return (id, try mapping.required("name").string(), origin, created)
    }

    private static func request(_ fields: YAMLMapping) throws -> Request {
        let nameReader = try fields.required("name")
        let name = try nameReader.string()
        guard Names.isValidRequest(name) else { throw nameReader.error("'\(name)' is not a valid request name") }
        var data = RequestData()
        if let dataReader = fields.optional("data") {
            for (key, _, value) in try dataReader.mapping().readers {
                do { try data.set(key, try value.string()) } catch let error as DataKeyError { throw value.error(error.description) }
            }
        }
        var request = Request(name: name, data: data)
        if let commands = fields.optional("commands") {
            for item in try commands.sequence() {
                request.add(Command(try CommandSpec(from: try item.mapping(allowed: ["run", "argv"]))))
            }
        }
        if let groups = fields.optional("groups") {
            request.groups = try groups.sequence().map { try HostGroup($0, selectors: false) }
        }
        if let only = fields.optional("only") {
            var paths: [String: [String]] = [:]
            for (host, mark, value) in try only.mapping().readers {
                guard Names.isValidNode(host) else {
                    throw InputError(source: only.source, line: mark.line, column: mark.column, field: "only.\(host)", message: "'\(host)' is not a valid host name")
                }
                paths[host] = try value.stringList()
            }
            request.only = paths
        }
        if let planned = fields.optional("planned") {
            var digests: [String: String] = [:]
            for (host, mark, value) in try planned.mapping().readers {
                guard Names.isValidNode(host) else {
                    throw InputError(source: planned.source, line: mark.line, column: mark.column, field: "planned.\(host)", message: "'\(host)' is not a valid host name")
                }
                digests[host] = try value.sha256Digest()
            }
            request.planned = digests
        }
        return request
    }
}
