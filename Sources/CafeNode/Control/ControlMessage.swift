import CafeCore

/// What `cafe` asks of the local node over the control socket (`run/control.sock`). Each
/// message is one frame (4-byte length, then YAML).
public enum ControlRequest: Sendable, Equatable {
    /// Originate a batch (given in the input format, clear secrets included). `follow`: stream
    /// progress until it ends (`cafe batch run`); otherwise return once it is queued (`deliver`).
    /// `plan`: the hash of a stored plan the batch must match (`cafe batch run --plan`).
    case submit(batch: [UInt8], source: String, follow: Bool, timeout: Double?, hosts: [String]?, plan: String? = nil)
    /// Collect a signed plan of a batch (`cafe batch plan`): every target host says what it
    /// would run, within `timeout` seconds; nothing runs.
    case plan(batch: [UInt8], source: String, timeout: Double)
    /// Batches of this node, or one batch.
    case status(batch: String?)
    /// Run a batch again from its saved original; `failedOnly`: only what did not succeed.
    case rerun(batch: String, failedOnly: Bool, follow: Bool, timeout: Double?)
    /// Re-read every config file and apply them all if all are valid (as SIGHUP does).
    case reload
    /// Follow a batch of this node to its end (`cafe wait ID`).
    case follow(batch: String)
    /// Pause, resume or cancel a running batch of this node (`cafe batch pause ID` …).
    case control(batch: String, action: BatchControl)

    /// A whole input batch file travels as one value.
    static let limits = YAMLLimits(
        maxBytes: YAMLLimits.batchFile.maxBytes + (1 << 20), maxDepth: 4, maxScalarBytes: YAMLLimits.batchFile.maxBytes,
        maxCollectionCount: 10_000, maxNodes: 100_000)

    public var yaml: [UInt8] {
        switch self {
        case .submit(let batch, let source, let follow, let timeout, let hosts, let plan):
            var pairs = [
                YAMLPair("op", .string("submit")), YAMLPair("source", .string(source)), YAMLPair("follow", .bool(follow)),
            ]
            if let timeout { pairs.append(YAMLPair("timeout", .seconds(timeout))) }
            if let hosts { pairs.append(YAMLPair("hosts", .strings(hosts))) }
            if let plan { pairs.append(YAMLPair("plan", .string(plan))) }
            pairs.append(YAMLPair("batch", .string(String(decoding: batch, as: UTF8.self))))
            return YAMLEmitter.bytes(.map(pairs))
        case .plan(let batch, let source, let timeout):
            return YAMLEmitter.bytes(.map([
                YAMLPair("op", .string("plan")), YAMLPair("source", .string(source)), YAMLPair("timeout", .seconds(timeout)),
                YAMLPair("batch", .string(String(decoding: batch, as: UTF8.self))),
            ]))
        case .status(let batch):
            return YAMLEmitter.bytes(.map([YAMLPair("op", .string("status"))] + (batch.map { [YAMLPair("batch", .string($0))] } ?? [])))
        case .rerun(let batch, let failedOnly, let follow, let timeout):
            var pairs = [
                YAMLPair("op", .string("rerun")), YAMLPair("batch", .string(batch)), YAMLPair("failed-only", .bool(failedOnly)),
                YAMLPair("follow", .bool(follow)),
            ]
            if let timeout { pairs.append(YAMLPair("timeout", .seconds(timeout))) }
            return YAMLEmitter.bytes(.map(pairs))
        case .reload:
            return YAMLEmitter.bytes(.map([YAMLPair("op", .string("reload"))]))
        case .follow(let batch):
            return YAMLEmitter.bytes(.map([YAMLPair("op", .string("follow")), YAMLPair("batch", .string(batch))]))
        case .control(let batch, let action):
            return YAMLEmitter.bytes(.map([YAMLPair("op", .string(action.rawValue)), YAMLPair("batch", .string(batch))]))
        }
    }

    /// The `--timeout` a node takes: more than 0, at most the longest request expiry (30 days).
    public static let timeouts: ClosedRange<Double> = 0.001...NodeSettings.maxExpiry

    /// The keys each operation takes; any other key is refused.
    static let keys: [String: [String]] = {
        var keys = [
            "submit": ["op", "source", "follow", "timeout", "hosts", "plan", "batch"],
            "plan": ["op", "source", "timeout", "batch"],
            "status": ["op", "batch"],
            "rerun": ["op", "batch", "failed-only", "follow", "timeout"],
            "reload": ["op"],
            "follow": ["op", "batch"],
        ]
        for action in BatchControl.allCases { keys[action.rawValue] = ["op", "batch"] }
        return keys
    }()

    public init(yaml bytes: [UInt8]) throws {
        let (mapping, op) = try ControlMessage.read(bytes, limits: Self.limits, source: "control request", kindKey: "op", kindName: "operation", keys: Self.keys)
        switch op {
        case "submit":
            self = .submit(
                batch: Array(try mapping.required("batch").string().utf8), source: try mapping.required("source").string(),
                follow: try mapping.required("follow").bool(), timeout: try mapping.optional("timeout")?.seconds(in: Self.timeouts),
                hosts: try mapping.optional("hosts")?.stringList(), plan: try mapping.optional("plan")?.string())
        case "plan":
            self = .plan(
                batch: Array(try mapping.required("batch").string().utf8), source: try mapping.required("source").string(),
                timeout: try mapping.required("timeout").seconds())  // bounded by Node.collectPlan, to a day
        case "status":
            self = .status(batch: try mapping.optional("batch")?.string())
        case "rerun":
            self = .rerun(
                batch: try mapping.required("batch").string(), failedOnly: try mapping.required("failed-only").bool(),
                follow: try mapping.required("follow").bool(), timeout: try mapping.optional("timeout")?.seconds(in: Self.timeouts))
        case "reload":
            self = .reload
        case "follow":
            self = .follow(batch: try mapping.required("batch").string())
        default:
            // ``ControlMessage/read`` took only the operations of ``keys``: the rest are actions.
            guard let action = BatchControl(rawValue: op) else { throw InputError(source: "control request", message: "unknown operation '\(op)'") }
            self = .control(batch: try mapping.required("batch").string(), action: action)
        }
    }
}

/// Reading of both kinds of control message.
enum ControlMessage {
    /// The mapping of a message and its kind (the value of `kindKey`), refusing a kind that
    /// `keys` does not name and any key that kind does not take.
    static func read(
        _ bytes: [UInt8], limits: YAMLLimits, source: String, kindKey: String, kindName: String, keys: [String: [String]]
    ) throws -> (YAMLMapping, String) {
        let root = try YAMLReader.document(bytes, limits: limits, source: source)
        let kindReader = try root.mapping().required(kindKey)
        let kind = try kindReader.string()
        guard let allowed = keys[kind] else {
            throw kindReader.error("unknown \(kindName) '\(kind)'", hint: "one of \(keys.keys.sorted().joined(separator: ", "))")
        }
        return (try root.mapping(allowed: allowed), kind)
    }
}

/// What an operator may do to a running batch.
public enum BatchControl: String, Sendable, CaseIterable {
    /// No host starts and no group begins; hosts already started finish.
    case pause
    /// Goes on after a pause.
    case resume
    /// Starts no more hosts; the batch ends in error/ as cancelled once running hosts answer.
    case cancel
}

/// What the node answers on the control socket, one frame each.
public enum ControlEvent: Sendable, Equatable {
    case accepted(batch: String)
    case progress(request: Int, name: String, host: String, state: HostState, note: String?)
    /// The batch as a whole moved on (see ``FollowEvent/stage(request:name:hosts:note:)``).
    case stage(request: Int, name: String, hosts: Int, note: String)
    case finished(state: BatchState, path: String)
    case status(text: String, json: String)
    case failure(message: String, exitStatus: Int32)

    public var yaml: [UInt8] {
        switch self {
        case .accepted(let batch):
            return YAMLEmitter.bytes(.map([YAMLPair("event", .string("accepted")), YAMLPair("batch", .string(batch))]))
        case .progress(let request, let name, let host, let state, let note):
            var pairs = [
                YAMLPair("event", .string("progress")), YAMLPair("request", .int(request)), YAMLPair("name", .string(name)),
                YAMLPair("host", .string(host)), YAMLPair("state", .string(state.rawValue)),
            ]
            if let note { pairs.append(YAMLPair("note", .string(note))) }
            return YAMLEmitter.bytes(.map(pairs))
        case .stage(let request, let name, let hosts, let note):
            return YAMLEmitter.bytes(.map([
                YAMLPair("event", .string("stage")), YAMLPair("request", .int(request)), YAMLPair("name", .string(name)),
                YAMLPair("hosts", .int(hosts)), YAMLPair("note", .string(note)),
            ]))
        case .finished(let state, let path):
            return YAMLEmitter.bytes(.map([
                YAMLPair("event", .string("finished")), YAMLPair("state", .string(state.rawValue)), YAMLPair("path", .string(path)),
            ]))
        case .status(let text, let json):
            return YAMLEmitter.bytes(.map([YAMLPair("event", .string("status")), YAMLPair("text", .string(text)), YAMLPair("json", .string(json))]))
        case .failure(let message, let exitStatus):
            return YAMLEmitter.bytes(.map([
                YAMLPair("event", .string("error")), YAMLPair("message", .string(message)), YAMLPair("exit", .int(Int(exitStatus))),
            ]))
        }
    }

    /// The keys each event takes; any other key is refused.
    static let keys = [
        "accepted": ["event", "batch"],
        "stage": ["event", "request", "name", "hosts", "note"],
        "progress": ["event", "request", "name", "host", "state", "note"],
        "finished": ["event", "state", "path"],
        "status": ["event", "text", "json"],
        "error": ["event", "message", "exit"],
    ]

    public init(yaml bytes: [UInt8]) throws {
        let (mapping, event) = try ControlMessage.read(bytes, limits: .executedBatchFile, source: "control event", kindKey: "event", kindName: "event", keys: Self.keys)
        switch event {
        case "accepted":
            self = .accepted(batch: try mapping.required("batch").string())
        case "stage":
            self = .stage(
                request: try mapping.required("request").int(), name: try mapping.required("name").string(),
                hosts: try mapping.required("hosts").int(), note: try mapping.required("note").string())
        case "progress":
            let stateReader = try mapping.required("state")
            guard let state = HostState(rawValue: try stateReader.string()) else { throw stateReader.error("unknown state") }
            self = .progress(
                request: try mapping.required("request").int(), name: try mapping.required("name").string(),
                host: try mapping.required("host").string(), state: state, note: try mapping.optional("note")?.string())
        case "finished":
            let stateReader = try mapping.required("state")
            guard let state = BatchState(rawValue: try stateReader.string()) else { throw stateReader.error("unknown state") }
            self = .finished(state: state, path: try mapping.required("path").string())
        case "error":
            let exit = try mapping.required("exit")
            guard let status = Int32(exactly: try exit.int()), (0...255).contains(status) else { throw exit.error("must be an exit status, 0 to 255") }
            self = .failure(message: try mapping.required("message").string(), exitStatus: status)
        case "status":
            self = .status(text: try mapping.required("text").string(), json: try mapping.required("json").string())
        default:
            throw InputError(source: "control event", message: "unknown event '\(event)'")
        }
    }
}
