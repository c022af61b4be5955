import CafeCore
import CafeCrypto
import CafeWire

/// How a submitted batch should run.
public struct SubmitOptions: Sendable {
    /// Seconds each host may take from its start (`--timeout`); nil: until the requests expire.
    public var timeout: Double?
    /// Hosts for every request (`cafe run --on`), as one group; nil: the delivery map decides.
    public var hosts: [String]?
    /// The hash of a stored plan the batch must match (`cafe batch run --plan`); nil: no plan.
    public var plan: String?

    public init(timeout: Double? = nil, hosts: [String]? = nil, plan: String? = nil) {
        self.timeout = timeout
        self.hosts = hosts
        self.plan = plan
    }
}

extension Node {
    /// Seconds the hosts have to answer a plan when `cafe batch plan` gives no `--timeout`.
    public static let defaultPlanTimeout = NodeCore.defaultPlanTimeout
    /// The longest `--timeout` of a plan: a day.
    public static let maxPlanTimeout = NodeCore.maxPlanTimeout

    /// Accepts a batch: gives it an id, saves the original (secrets sealed to this node) and
    /// the plan, then starts it. Returns once everything is on disk; `follow` gets its events.
    public func submit(_ input: BatchInput, options: SubmitOptions = SubmitOptions(), follow: Bool = false) async throws
        -> (id: BatchID, events: AsyncStream<FollowEvent>?)
    {
        let id = BatchID(time: clock.now(), random: random)
        let plan = try options.plan.map { try storedPlan($0) }
        let events = follow ? self.follow(id) : nil
        switch await ask({ .submit(SubmitOrder(id: id, input: input, options: options, plan: plan), $0) }) {
        case .submitted(let id):
            return (id, events)
        case .failure(let error):
            for (_, stream) in followers.removeValue(forKey: id) ?? [:] { stream.finish() }
            throw error
        case let other:
            throw EnvironmentError("unexpected answer to a submission: \(other)")
        }
    }

    /// The stored plan `hash` (64 hex digits, `sha256:` allowed): `batches/plans/HASH.yaml`.
    func storedPlan(_ hash: String) throws -> CollectedPlan {
        let hex = hash.hasPrefix(SHA256Digest.prefix) ? String(hash.dropFirst(SHA256Digest.prefix.count)) : hash
        guard SHA256Digest.isHex(hex) else {
            throw InputError(source: "command line", field: "--plan", message: "'\(hash)' is not a plan hash", hint: "64 lower-case hex digits, the last line of cafe batch plan")
        }
        let path = NodeCore.planPath(hex, home: identity.home)
        guard FileSystem.exists(path) else {
            throw InputError(
                source: "command line", field: "--plan", message: "no plan \(hex) in \(identity.home.plans)",
                hint: "cafe batch plan FILE collects one and prints its hash on the last line")
        }
        return try CollectedPlan(yaml: try FileSystem.read(path, maxBytes: YAMLLimits.batchFile.maxBytes), hash: hex, source: path)
    }

    /// Resolves the batch's hosts as a run would, asks each, in a signed plan request, what it
    /// would run, and returns what they answered once every host has, or after `timeout`
    /// seconds. A complete plan is first stored as `batches/plans/HASH.yaml`. Nothing runs.
    public func collectPlan(_ input: BatchInput, timeout: Double, source: String) async throws -> CollectedPlan {
        let order = PlanOrder(id: BatchID(time: clock.now(), random: random), input: input, timeout: timeout, source: source)
        switch await ask({ .collectPlan(order, $0) }) {
        case .plan(let plan): return plan
        case .failure(let error): throw error
        case let other: throw EnvironmentError("unexpected answer to a plan: \(other)")
        }
    }

    /// The operator pauses, resumes or cancels running batch `id` (`cafe batch pause ID` …).
    /// Returns the line `cafe` prints.
    public func control(_ id: BatchID, _ action: BatchControl) async throws -> String {
        if core.batches[id] == nil {
            let home = identity.home
            for folder in [BatchFolder.done, .error] where FileSystem.exists(home.batchFile(id, in: folder)) {
                throw InputError(source: id.rawValue, message: "has ended (\(folder.rawValue)); there is nothing to \(action.rawValue)", hint: "its executed file is \(home.batchFile(id, in: folder))")
            }
        }
        switch await ask({ .control(id, action, $0) }) {
        case .text(let text): return text
        case .failure(let error): throw error
        case let other: throw EnvironmentError("unexpected answer to \(action.rawValue): \(other)")
        }
    }

    /// Rerun planning with this node's delivery map and keys.
    var rerunPlanner: RerunPlanner {
        let identity = identity
        return RerunPlanner(
            groups: { identity.configuration.delivery.groups(for: $0) },
            verify: { signed in
                guard let envelope = try? Envelope.open(Array(signed.utf8), keys: identity.keys), case .result(let body) = envelope.body else { return nil }
                return body.result
            })
    }

    /// Runs batch `id` again from its saved original (secrets opened with this node's key).
    /// `failedOnly`: only requests that did not succeed, on the hosts that did not succeed.
    public func rerun(_ id: BatchID, failedOnly: Bool, timeout: Double?, follow: Bool) async throws
        -> (id: BatchID, events: AsyncStream<FollowEvent>?, plan: String)
    {
        let home = identity.home
        let originalPath = home.batchFile(id, in: .original)
        guard FileSystem.exists(originalPath) else { throw InputError(source: id.rawValue, message: "no saved original for this batch on \(name)") }
        let original = try Batch(originalYAML: try FileSystem.read(originalPath, maxBytes: YAMLLimits.batchFile.maxBytes), source: originalPath)
        var requests: [Request] = []
        for (index, saved) in original.requests.enumerated() {
            var request = saved
            request.data = try saved.data.mapSecrets { key, value in
                guard case .sealed(let text) = value else { return value }
                return .clear(try SecretSealer.open(
                    text, with: identity.key, binding: SecretSealer.originalBinding(batch: id.rawValue, index: index, origin: name, key: key)))
            }
            requests.append(request)
        }
        if failedOnly {
            guard let (_, path) = home.executedBatchFile(id) else {
                throw InputError(source: id.rawValue, message: "has not finished yet; --failed needs its executed batch file")
            }
            let executed = try Batch(executedYAML: try FileSystem.read(path, maxBytes: YAMLLimits.executedBatchFile.maxBytes), source: path)
            requests = try rerunPlanner.failed(requests, executed: executed, source: path)
        }
        let input = BatchInput(name: "\(original.name) (rerun of \(id))", requests: requests)
        let (newID, events) = try await submit(input, options: SubmitOptions(timeout: timeout), follow: follow)
        return (newID, events, RerunPlanner.plan(requests))
    }
}
