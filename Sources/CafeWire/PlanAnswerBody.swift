import CafeCore

/// Host → origin: what the host would run for one request of a plan, signed by the host.
/// Nothing ran. Its own envelope kind (and so its own signing context) keeps it from ever
/// being taken as a result.
public struct PlanAnswerBody: Sendable, Hashable {
    public var plan: String
    public var index: Int
    public var request: String
    /// Id of the plan-request envelope this answers.
    public var answers: String
    public var host: String
    /// `ok`: the host would run ``commands``; `denied`: its trust.yaml does not let the origin
    /// run the request there; `failed`: it could not run it (no command-map entry, a
    /// placeholder without a value); ``message`` says why.
    public var state: HostState
    public var message: String?
    /// The digest of the host's command-map entry for the request (`sha256:HEX`), when it has one.
    public var commandDigest: String?
    /// The commands as the host would run them, one line each (``CommandSpec/description``):
    /// shell text as written, argv with the request's non-secret data in its placeholders.
    public var commands: [String]

    /// The states a plan answer may carry.
    public static let states: Set<HostState> = [.ok, .failed, .denied]

    public init(
        plan: String, index: Int, request: String, answers: String, host: String, state: HostState, message: String? = nil,
        commandDigest: String? = nil, commands: [String] = []
    ) {
        self.plan = plan
        self.index = index
        self.request = request
        self.answers = answers
        self.host = host
        self.state = state
        self.message = message
        self.commandDigest = commandDigest
        self.commands = commands
    }
}

extension PlanAnswerBody: YAMLMappingCodable {
    public static let yamlKeys = ["plan", "index", "request", "answers", "host", "state", "message", "command-digest", "commands"]

    public var yamlPairs: [YAMLPair] {
        var pairs = [
            YAMLPair("plan", .string(plan)), YAMLPair("index", .int(index)), YAMLPair("request", .string(request)),
            YAMLPair("answers", .string(answers)), YAMLPair("host", .string(host)), YAMLPair("state", state.yamlValue),
        ]
        if let message { pairs.append(YAMLPair("message", .string(message))) }
        if let commandDigest { pairs.append(YAMLPair("command-digest", .string(commandDigest))) }
        if !commands.isEmpty { pairs.append(YAMLPair("commands", .strings(commands))) }
        return pairs
    }

    public init(_ mapping: YAMLMapping) throws {
        let position = try RequestPosition(mapping, idKey: "plan")
        let answers = try mapping.required("answers").envelopeID()
        let host = try mapping.required("host").nodeName()
        let stateReader = try mapping.required("state")
        let state = try HostState(stateReader)
        guard Self.states.contains(state) else { throw stateReader.error("is not a plan answer's state", hint: "ok, failed or denied") }
        let digest = try mapping.optional("command-digest")?.sha256Digest()
        if state == .ok && digest == nil { throw stateReader.error("is ok but the answer has no command-digest") }
        self.init(
            plan: position.id, index: position.index, request: position.request, answers: answers, host: host, state: state,
            message: try mapping.optional("message")?.string(), commandDigest: digest,
            commands: try mapping.optional("commands")?.stringList() ?? [])
    }
}

extension PlanAnswerBody {
    /// `host`'s answer to `query` (the plan-request envelope `id`) from its command map, once
    /// trust.yaml allows the request: the entry's digest and its commands with the request's
    /// non-secret data in their placeholders, exactly as a run would fill them; `failed` when
    /// there is no entry or a placeholder cannot be filled (a run would fail the same way).
    public init(answering query: PlanRequestBody, id: String, host: String, commandMap: CommandMap) {
        guard let entry = commandMap.entry(for: query.request) else {
            self.init(answering: query, id: id, host: host, state: .failed, message: LocalExecutor.noEntry(query.request, on: host))
            return
        }
        self.init(answering: query, id: id, host: host, state: .ok)
        commandDigest = entry.digest
        do {
            let data = try query.requestData()
            commands = try entry.commands.map { try $0.substituting(data).description }
        } catch {
            state = .failed
            message = "\(host) cannot run '\(query.request)' with this request's data: \(error)"
        }
    }

    /// `host`'s answer to `query` (the plan-request envelope `id`) without commands: a denial,
    /// or why it cannot run the request.
    public init(answering query: PlanRequestBody, id: String, host: String, state: HostState, message: String? = nil) {
        self.init(plan: query.plan, index: query.index, request: query.request, answers: id, host: host, state: state, message: message)
    }
}
