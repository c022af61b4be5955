import CafeCore

/// The typed content of an envelope, one case per ``EnvelopeKind``.
public enum EnvelopeBody: Sendable, Hashable {
    case request(RequestBody)
    case result(ResultBody)
    case ack(AckBody)
    case forward(ForwardBody)
    case planRequest(PlanRequestBody)
    case planAnswer(PlanAnswerBody)

    public var kind: EnvelopeKind {
        switch self {
        case .request: .request
        case .result: .result
        case .ack: .ack
        case .forward: .forward
        case .planRequest: .planRequest
        case .planAnswer: .planAnswer
        }
    }

    var yamlValue: YAMLValue {
        switch self {
        case .request(let body): body.yamlValue
        case .result(let body): body.yamlValue
        case .ack(let body): body.yamlValue
        case .forward(let body): body.yamlValue
        case .planRequest(let body): body.yamlValue
        case .planAnswer(let body): body.yamlValue
        }
    }

    /// Reads the body of an envelope of `kind` with that kind's coder.
    init(kind: EnvelopeKind, _ reader: YAMLReader) throws {
        switch kind {
        case .request: self = .request(try RequestBody(reader))
        case .result: self = .result(try ResultBody(reader))
        case .ack: self = .ack(try AckBody(reader))
        case .forward: self = .forward(try ForwardBody(reader))
        case .planRequest: self = .planRequest(try PlanRequestBody(reader))
        case .planAnswer: self = .planAnswer(try PlanAnswerBody(reader))
        }
    }
}

/// Origin → host: one request of a batch, for one host. Secret values are sealed to the host.
public struct RequestBody: Sendable, Hashable {
    public var batch: String
    public var batchName: String
    /// Position of the request in the batch.
    public var index: Int
    public var request: String
    public var data: [RequestData.Field]
    /// Secret key → `sealed:BASE64`, sealed to the target.
    public var secrets: [(key: String, sealed: String)]
    /// Ad-hoc commands; empty for command-map requests.
    public var commands: [CommandSpec]
    /// When the origin wants the answer (its group deadline), if it set one; a host that fans
    /// the request out gives its own hosts less time than that.
    public var answerBy: Timestamp?
    /// For a request a host fans out (hierarchical delivery): the signed request that host
    /// received, which proves the origin asked; nil for requests straight from the origin.
    public var delegation: String?
    /// For a host that fans the request out, when only part of what lies below it is to run
    /// (`cafe rerun --failed`): the paths of those hosts below it (`b2`, `gw2/b5`), and `.`
    /// for its own commands; nil runs everything. Paths may only narrow what the host does.
    public var only: [String]?
    /// For a batch run with `--plan`: the digest of the host's command-map entry for this
    /// request when the plan was made. A host whose entry no longer has it refuses the request
    /// (`plan-mismatch`) and runs nothing.
    public var planDigest: String?

    public init(
        batch: String, batchName: String, index: Int, request: String, data: [RequestData.Field] = [],
        secrets: [(key: String, sealed: String)] = [], commands: [CommandSpec] = [], answerBy: Timestamp? = nil,
        delegation: String? = nil, only: [String]? = nil, planDigest: String? = nil
    ) {
        self.batch = batch
        self.batchName = batchName
        self.index = index
        self.request = request
        self.data = data
        self.secrets = secrets
        self.commands = commands
        self.answerBy = answerBy
        self.delegation = delegation
        self.only = only
        self.planDigest = planDigest
    }

    public static func == (lhs: RequestBody, rhs: RequestBody) -> Bool {
        lhs.batch == rhs.batch && lhs.batchName == rhs.batchName && lhs.index == rhs.index && lhs.request == rhs.request
            && lhs.data == rhs.data && lhs.secrets.map(\.key) == rhs.secrets.map(\.key)
            && lhs.secrets.map(\.sealed) == rhs.secrets.map(\.sealed) && lhs.commands == rhs.commands
            && lhs.answerBy == rhs.answerBy && lhs.delegation == rhs.delegation && lhs.only == rhs.only
            && lhs.planDigest == rhs.planDigest
    }

    /// `.`, or host names joined by `/` (at most ``ForwardBody/maxPath`` of them), optionally
    /// ending in `/.` (that host's own commands).
    public static func isValidPath(_ path: String) -> Bool {
        if path == "." { return true }
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 1 && parts.last == "." { parts.removeLast() }
        return parts.count <= ForwardBody.maxPath && parts.allSatisfy(Names.isValidNode)
    }

    /// Batch, position, name, data and commands agree (what a delegation must not change).
    public func sameRequest(as other: RequestBody) -> Bool {
        batch == other.batch && index == other.index && request == other.request && data == other.data
            && commands == other.commands && Set(secrets.map(\.key)) == Set(other.secrets.map(\.key))
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(batch)
        hasher.combine(index)
        hasher.combine(request)
    }
}

extension RequestBody: YAMLMappingCodable {
    public static let yamlKeys = [
        "batch", "batch-name", "index", "request", "data", "secrets", "commands", "answer-by", "delegation", "only", "plan-digest",
    ]

    public var yamlPairs: [YAMLPair] {
        var pairs = [
            YAMLPair("batch", .string(batch)), YAMLPair("batch-name", .string(batchName)),
            YAMLPair("index", .int(index)), YAMLPair("request", .string(request)),
        ]
        pairs += RequestData.yamlPairs(
            fields: data, secrets: secrets.map { RequestData.Secret(key: $0.key, value: .sealed($0.sealed)) }, form: .sealed)
        if !commands.isEmpty { pairs.append(YAMLPair("commands", .list(commands.map(\.yamlValue)))) }
        if let answerBy { pairs.append(YAMLPair("answer-by", answerBy.yamlValue)) }
        if let delegation { pairs.append(YAMLPair("delegation", .string(delegation))) }
        if let only { pairs.append(YAMLPair("only", .strings(only))) }
        if let planDigest { pairs.append(YAMLPair("plan-digest", .string(planDigest))) }
        return pairs
    }

    public init(_ mapping: YAMLMapping) throws {
        let position = try RequestPosition(mapping, idKey: "batch")
        let data = try RequestData(mapping, secrets: .sealed)
        var only: [String]?
        if let onlyReader = mapping.optional("only") {
            let paths = try onlyReader.stringList()
            for path in paths where !Self.isValidPath(path) {
                throw onlyReader.error("'\(path)' is not '.' or a path of host names (gw2/b5)")
            }
            only = paths
        }
        self.init(
            batch: position.id, batchName: try mapping.required("batch-name").string(), index: position.index, request: position.request,
            data: data.fields, secrets: data.secrets.map { ($0.key, $0.sealedText) },
            commands: try mapping.optional("commands")?.list(of: CommandSpec.self) ?? [],
            answerBy: try mapping.optional("answer-by").map(Timestamp.init),
            delegation: try mapping.optional("delegation")?.string(), only: only,
            planDigest: try mapping.optional("plan-digest")?.sha256Digest())
    }
}

extension RequestData.Secret {
    /// The sealed text of a secret read from a request body (always sealed there).
    var sealedText: String {
        guard case .sealed(let text) = value else { return "" }
        return text
    }
}

/// Host → origin: the host's result for one request, answering one request envelope.
public struct ResultBody: Sendable, Hashable {
    public var batch: String
    public var index: Int
    public var request: String
    /// Id of the request envelope this answers.
    public var answers: String
    public var result: HostResult

    public init(batch: String, index: Int, request: String, answers: String, result: HostResult) {
        self.batch = batch
        self.index = index
        self.request = request
        self.answers = answers
        self.result = result
    }
}

extension ResultBody: YAMLMappingCodable {
    public static let yamlKeys = ["batch", "index", "request", "answers"] + HostResult.yamlKeys

    public var yamlPairs: [YAMLPair] {
        [
            YAMLPair("batch", .string(batch)), YAMLPair("index", .int(index)),
            YAMLPair("request", .string(request)), YAMLPair("answers", .string(answers)),
        ] + result.yamlPairs
    }

    public init(_ mapping: YAMLMapping) throws {
        let answers = try mapping.required("answers").envelopeID()
        let position = try RequestPosition(mapping, idKey: "batch")
        self.init(batch: position.id, index: position.index, request: position.request, answers: answers, result: try HostResult(mapping))
    }
}

/// Receiver → sender: the named envelope is stored durably (`accepted`), was already stored
/// (`duplicate`), or was refused (`refused`, with the reason).
public struct AckBody: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, CaseIterable {
        case accepted, duplicate, refused
    }

    /// Why an envelope was refused, as a word a program can act on (the `reason` is for people).
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// It expired before it arrived, or claims a lifetime longer than receivers accept.
        case expired
        /// This node's trust.yaml does not allow what it asks.
        case denied
        /// This node cannot place it (no such batch or request, no delivery entry, a loop).
        case unknownRequest = "unknown-request"
        /// Seen before under the same id, or already received from another sender.
        case replay
        /// Its content cannot be used (dated in the future, a broken delegation chain).
        case malformed
        /// This node will not take more from this sender now; it may be sent again later.
        case busy
        /// The command-map entry changed since the plan the request carries.
        case planMismatch = "plan-mismatch"
    }

    public var acks: String
    public var status: Status
    /// Set when `status` is `refused`.
    public var code: Code?
    public var reason: String?

    public init(acks: String, status: Status, code: Code? = nil, reason: String? = nil) {
        self.acks = acks
        self.status = status
        self.code = code
        self.reason = reason
    }
}

extension AckBody: YAMLMappingCodable {
    public static let yamlKeys = ["acks", "status", "code", "reason"]

    public var yamlPairs: [YAMLPair] {
        var pairs = [YAMLPair("acks", .string(acks)), YAMLPair("status", status.yamlValue)]
        if let code { pairs.append(YAMLPair("code", code.yamlValue)) }
        if let reason { pairs.append(YAMLPair("reason", .string(reason))) }
        return pairs
    }

    public init(_ mapping: YAMLMapping) throws {
        self.init(
            acks: try mapping.required("acks").envelopeID(), status: try Status(try mapping.required("status")),
            code: try mapping.optional("code").map(Code.init), reason: try mapping.optional("reason")?.string())
    }
}

extension AckBody.Status: YAMLWord {
    public static let yamlMeaning = "an acknowledgement status"
}

extension AckBody.Code: YAMLWord {
    public static let yamlMeaning = "a refusal code"
}

/// One hop of a relayed envelope. The end-to-end envelope travels unchanged (its own signature
/// still binds it to its author and final target); `path` lists the nodes it has passed
/// through, starting with its author, so that loops and over-long chains are refused.
public struct ForwardBody: Sendable, Hashable {
    /// Most nodes an envelope may pass through (author included) before it is refused.
    public static let maxPath = 8

    public var path: [String]
    public var envelope: String

    public init(path: [String], envelope: String) {
        self.path = path
        self.envelope = envelope
    }
}

extension ForwardBody: YAMLMappingCodable {
    public static let yamlKeys = ["path", "envelope"]

    public var yamlPairs: [YAMLPair] {
        [YAMLPair("path", .strings(path)), YAMLPair("envelope", .string(envelope))]
    }

    public init(_ mapping: YAMLMapping) throws {
        let pathReader = try mapping.required("path")
        let path = try pathReader.stringList()
        guard !path.isEmpty, path.count <= Self.maxPath, path.allSatisfy(Names.isValidNode) else {
            throw pathReader.error("must list 1 to \(Self.maxPath) node names")
        }
        self.init(path: path, envelope: try mapping.required("envelope").string())
    }
}
