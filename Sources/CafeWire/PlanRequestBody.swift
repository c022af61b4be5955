import CafeCore

/// Origin → host, for `cafe batch plan`: which commands would you run for this request? The
/// host decides as for a real request (trust.yaml, its command map) and answers with a signed
/// ``PlanAnswerBody``; it never stores, runs or fans out anything for it.
///
/// It carries the request's non-secret data (placeholders are filled in as a run would fill
/// them) and only the names of its secrets, never a secret value.
public struct PlanRequestBody: Sendable, Hashable {
    /// The id the origin gave this plan (a batch id that no batch runs under).
    public var plan: String
    public var batchName: String
    /// Position of the request in the batch.
    public var index: Int
    public var request: String
    public var data: [RequestData.Field]
    public var secretKeys: [String]

    public init(plan: String, batchName: String, index: Int, request: String, data: [RequestData.Field] = [], secretKeys: [String] = []) {
        self.plan = plan
        self.batchName = batchName
        self.index = index
        self.request = request
        self.data = data
        self.secretKeys = secretKeys
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(plan)
        hasher.combine(index)
        hasher.combine(request)
    }

    /// The request's data as a host substitutes it: values for non-secret keys, secrets by
    /// name only (a placeholder naming one is refused, as in a run).
    public func requestData() throws -> RequestData {
        var data = RequestData()
        for field in self.data { try data.set(field.key, field.value) }
        for key in secretKeys { try data.setSecret(key, .sealed("")) }
        return data
    }
}

extension PlanRequestBody: YAMLMappingCodable {
    public static let yamlKeys = ["plan", "batch-name", "index", "request", "data", "secret-keys"]

    public var yamlPairs: [YAMLPair] {
        [
            YAMLPair("plan", .string(plan)), YAMLPair("batch-name", .string(batchName)),
            YAMLPair("index", .int(index)), YAMLPair("request", .string(request)),
        ]
            + RequestData.yamlPairs(
                fields: data, secrets: secretKeys.map { RequestData.Secret(key: $0, value: .sealed("")) }, form: .names,
                secretsKey: "secret-keys")
    }

    public init(_ mapping: YAMLMapping) throws {
        let position = try RequestPosition(mapping, idKey: "plan")
        let data = try RequestData(mapping, secrets: .names, secretsKey: "secret-keys")
        self.init(
            plan: position.id, batchName: try mapping.required("batch-name").string(), index: position.index, request: position.request,
            data: data.fields, secretKeys: data.secretKeys)
    }
}
