import CafeCore

extension BatchPlan {
    /// `batches/queue/ID.yaml` and `batches/running/ID.yaml`: the plan of a batch.
    var yaml: [UInt8] {
        var pairs = [YAMLPair("batch", .string(id.rawValue)), YAMLPair("origin", .string(origin))]
        if let hostTimeout { pairs.append(YAMLPair("timeout", .seconds(hostTimeout))) }
        pairs.append(YAMLPair("expires", expires.yamlValue))
        pairs.append(YAMLPair("requests", .list(requests.map { request in
            var fields = [YAMLPair("name", .string(request.name)), YAMLPair("groups", .list(request.groups.map(\.yamlValue)))]
            if let note = request.undeliverable { fields.append(YAMLPair("undeliverable", .string(note))) }
            return .map(fields)
        })))
        return YAMLEmitter.bytes(.map(pairs), comment: ["CafeBatch batch plan: the hosts each request goes to, fixed when the batch was accepted."])
    }

    init(yaml bytes: [UInt8], source: String) throws {
        let mapping = try YAMLReader.document(bytes, limits: .batchFile, source: source)
            .mapping(allowed: ["batch", "origin", "timeout", "expires", "requests"])
        let idReader = try mapping.required("batch")
        guard let id = BatchID(validating: try idReader.string()) else { throw idReader.error("is not a batch id") }
        let expires = try Timestamp(try mapping.required("expires"))
        let requests = try mapping.required("requests").sequence().map { reader in
            let fields = try reader.mapping(allowed: ["name", "groups", "undeliverable"])
            return PlannedRequest(
                name: try fields.required("name").string(), groups: try fields.required("groups").list(of: HostGroup.self),
                undeliverable: try fields.optional("undeliverable")?.string())
        }
        self.init(
            id: id, origin: try mapping.required("origin").string(), requests: requests,
            hostTimeout: try mapping.optional("timeout")?.seconds(), expires: expires)
    }
}
