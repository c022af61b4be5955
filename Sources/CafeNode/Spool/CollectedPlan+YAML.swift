import CafeCore

extension CollectedPlan {
    /// `batches/plans/HASH.yaml`: a complete plan, as `cafe batch run --plan HASH` reads it.
    var yaml: [UInt8] {
        YAMLEmitter.bytes(
            .map([
                YAMLPair("plan", .string(hash ?? "")), YAMLPair("id", .string(id.rawValue)), YAMLPair("name", .string(name)),
                YAMLPair("origin", .string(origin)), YAMLPair("created", created.yamlValue),
                YAMLPair("hosts", .list(hosts.map { host in
                    .map([
                        YAMLPair("index", .int(host.index)), YAMLPair("request", .string(host.request)), YAMLPair("host", .string(host.host)),
                        YAMLPair("command-digest", .string(host.commandDigest ?? "")), YAMLPair("commands", .strings(host.commands)),
                    ])
                })),
            ]),
            comment: [
                "CafeBatch plan: every host's command-map entry digest, as the hosts signed them.",
                "cafe batch run FILE --plan HASH runs FILE only where these digests still hold.",
            ])
    }

    /// Reads a stored plan and checks that its hosts still hash to `hash` (the file's name).
    init(yaml bytes: [UInt8], hash: String, source: String) throws {
        let mapping = try YAMLReader.document(bytes, limits: .batchFile, source: source)
            .mapping(allowed: ["plan", "id", "name", "origin", "created", "hosts"])
        let idReader = try mapping.required("id")
        guard let id = BatchID(validating: try idReader.string()) else { throw idReader.error("is not a plan id") }
        let created = try Timestamp(try mapping.required("created"))
        let hosts = try mapping.required("hosts").sequence().map { reader in
            let fields = try reader.mapping(allowed: ["index", "request", "host", "command-digest", "commands"])
            let host = try fields.required("host").nodeName()
            let request = try fields.required("request").requestName()
            var planned = PlannedHost(index: try fields.required("index").int(), request: request, host: host)
            planned.state = .ok
            planned.commandDigest = try fields.required("command-digest").sha256Digest()
            planned.commands = try fields.optional("commands")?.stringList() ?? []
            return planned
        }
        self.init(id: id, name: try mapping.required("name").string(), origin: try mapping.required("origin").string(), created: created, hosts: hosts)
        guard self.hash == hash, try mapping.required("plan").string() == hash else {
            throw InputError(
                source: source, message: "was changed after it was written: its hosts and digests do not hash to \(hash)",
                hint: "make the plan again with cafe batch plan")
        }
    }
}
