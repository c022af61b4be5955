import CafeCore
import CafeCrypto
import CafeWire
import Logging

extension NodeCore {
    /// A request for this node: stored durably, acknowledged, then run once (or denied).
    /// A duplicate (same origin, batch and index) is acknowledged again and answered with the
    /// stored result; it never runs a second time.
    mutating func receiveRequest(_ envelope: Envelope, _ body: RequestBody, _ verdict: ReplayWindow.Verdict) {
        let header = envelope.header
        let meta: Logger.Metadata = ["batch": "\(body.batch)", "request": "\(body.request)", "peer": "\(header.sender)"]
        guard let key = RequestSpool.key(envelope) else { return }
        let delegation: Delegation
        do {
            delegation = try delegationChain(envelope, body)
        } catch {
            log(.warning, "refused request: \(error)", meta)
            acknowledge(header, .refused, code: .malformed, reason: "\(error)")
            return
        }
        // Expired, future-dated or misaddressed copies are refused even when already stored.
        if refuseStale(header, verdict, meta) { return }
        if let entry = spool.entries[key], entry.request.header.sender != header.sender {
            // Two senders for one request: the origin and a forwarding host both name this host.
            let reason = "already received this request from \(entry.request.header.sender); delivery maps overlap"
            log(.warning, "refused request: \(reason)", meta)
            acknowledge(header, .refused, code: .replay, reason: reason)
            return
        }
        if let entry = spool.entries[key] {
            acknowledge(header, .duplicate)
            if case .finished(let result) = entry.stage, outbox.entries[result.header.id] == nil {
                // The origin may have lost the result: offer it again.
                outbox.add(result, durable: false)
                flushDue()
            }
            log(.info, "duplicate request answered from the spool", meta)
            return
        }
        // The spool, not the seen-set, decides what is a duplicate of a stored request (it is
        // stored before its id is remembered). A replayed id with nothing in the spool is a
        // request this node denied (its id is remembered, the request is not stored; the signed
        // denial waits in the outbox until taken), or one whose entry expired and was pruned,
        // which the freshness check above has refused already.
        if case .refuse(let refusal) = verdict, refusal.kind == .replayed {
            acknowledge(header, .duplicate)
            log(.info, "duplicate of a request denied before; its answer stands", meta)
            return
        }
        guard !stopping else {
            log(.info, "not taking a request while stopping; the origin will send it again", meta)
            return
        }
        // Decide before storing: only what this node will run or fan out takes spool space.
        // A denial is answered with a signed `denied` result, which alone is kept until the
        // asker takes it; a sender with too many answers waiting is refused (`busy`) instead.
        let action = admissionAction(header, body)
        let tags = delegation.originTags
        let decision = trust.decide(signer: header.origin, tags: tags, action: action)
        guard decision.allowed else {
            guard outbox.answers(for: header.sender) < Self.maxWaitingAnswersPerPeer else {
                log(.warning, "refused request: \(Self.maxWaitingAnswersPerPeer) answers already wait for \(header.sender)", meta)
                acknowledge(header, .refused, code: .busy, reason: "\(name) has \(Self.maxWaitingAnswersPerPeer) answers waiting for \(header.sender); send again later")
                return
            }
            let audited = auditedDecision(signer: header.origin, tags: tags, action: action, fields: Self.auditFields(header, body, action))
            log(.warning, "denied: \(audited.reason)", meta)
            answer(request: envelope, with: denial(audited, action: action, origin: header.origin, tags: tags))
            remember(header)
            acknowledge(header, .accepted)
            return
        }
        if let mismatch = body.planMismatch(commandMap: identity.configuration.commands, host: name) {
            log(.warning, "refused request: \(mismatch)", meta)
            acknowledge(header, .refused, code: .planMismatch, reason: mismatch)
            return
        }
        spool.store(envelope, key: key, delegation: delegation)
        write(.spool(key, .store(envelope)))
        remember(header, synced: false)
        acknowledge(header, .accepted)
        log(.info, "request stored", meta)
        start(queue.enqueue(key))
    }

    /// Answers (signed results) that may wait in the outbox for one peer before requests
    /// that this node would deny are refused as `busy` instead of answered.
    static let maxWaitingAnswersPerPeer = 1_000

    /// What running `body` asks of this node: fanning it out (a request from another origin
    /// that this node's delivery map also names), ad-hoc commands, or a command-map entry.
    func admissionAction(_ header: EnvelopeHeader, _ body: RequestBody) -> TrustAction {
        body.commands.isEmpty ? commandMapAction(origin: header.origin, request: body.request) : .adhoc
    }

    /// What a command-map request from `origin` asks of this node: fanning it out (another
    /// origin's request that this node's delivery map also names), or running its entry here.
    func commandMapAction(origin: String, request: String) -> TrustAction {
        if origin != name, identity.configuration.delivery.groups(for: request) != nil { return .relay }
        return .request(request)
    }

    /// This node's signed answer to a request it denies: the reason, what to change to allow it,
    /// and the config generation the decision used.
    /// `tags` are the origin's certified tags, as the decision used them.
    func denial(_ decision: TrustDecision, action: TrustAction, origin: String, tags: [String]) -> HostResult {
        HostResult(
            host: name, state: .denied,
            message: "denied by \(name): \(denialReason(decision.reason, action: action, origin: origin, tags: tags)) (\(configGeneration))")
    }

    /// The reason to give for a denial, naming the file and field to change. A node that may
    /// relay for the origin but has no delivery entry for the request was asked to fan it out:
    /// its delivery.yaml is what is missing, not a grant in trust.yaml.
    func denialReason(_ reason: String, action: TrustAction, origin: String, tags: [String]) -> String {
        switch action {
        case .request(let request) where trust.decide(signer: origin, tags: tags, action: .relay).allowed:
            return "\(name) may fan requests out for \(origin) but has no entry '\(request)' in \(home.deliveryConfig) (add its groups of hosts there), and \(home.trustConfig) does not allow \(origin) to run '\(request)' on \(name) itself"
        case .request(let request):
            return "\(reason); to allow it, add '\(request)' to requests: of '\(origin)' in \(home.trustConfig)"
        case .adhoc:
            return "\(reason); to allow it, set adhoc: true for '\(origin)' in \(home.trustConfig)"
        case .relay:
            return "\(reason); to allow it, set relay: true for '\(origin)' in \(home.trustConfig)"
        }
    }

    /// Starts the requests the queue lets start.
    mutating func start(_ keys: [RequestKey]) {
        for key in keys { startRequest(key) }
    }

    /// Starts one stored request: an expired one is answered `expired`; one this node fans
    /// out starts its fan-out; any other is decided (trust, plan, secrets) and run. Its queue
    /// slot is held until its run ends.
    mutating func startRequest(_ key: RequestKey) {
        if fanOuts[key] != nil {
            // A fan-out resumed after a restart whose own part had not started.
            runOwnPart(key)
            return
        }
        guard let entry = spool.entries[key], case .request(let body) = entry.request.body, entry.stage == .stored else {
            start(queue.finished())
            return
        }
        let header = entry.request.header
        if header.expires <= now {
            log(.warning, "not running: the request expired at \(header.expires) while it waited", Self.meta(body, header.origin))
            finishRequest(key, result: HostResult(host: name, state: .expired, message: "expired at \(header.expires) before \(name) could run it; not run"), answering: entry.request)
            start(queue.finished())
            return
        }
        // A request from another origin that this node's delivery map also names is fanned out
        // (hierarchical delivery); this node's own batches are planned by its engine instead.
        if case .relay = admissionAction(header, body), let groups = identity.configuration.delivery.groups(for: body.request) {
            fanOut(key, entry.request, body, groups: groups)
            return
        }
        if let result = prepareRun(body, entry.request, .request(key)) {
            finishRequest(key, result: result, answering: entry.request)
            start(queue.finished())
        }
    }

    /// A run ordered by ``prepareRun(_:_:_:)`` ended.
    mutating func ran(_ run: RunID, _ result: HostResult) {
        switch run {
        case .request(let key):
            guard let entry = spool.entries[key], case .request(let body) = entry.request.body else { return }
            finishRequest(key, result: result, answering: entry.request)
            emit(.metric(.requestFinished(result.state.rawValue)))
            log(.info, "result \(result.state.rawValue)", Self.meta(body, entry.request.header.origin))
        case .ownPart(let key):
            recordOwn(key, result)
        }
        start(queue.finished())
    }

    static func meta(_ body: RequestBody, _ peer: String) -> Logger.Metadata {
        ["batch": "\(body.batch)", "request": "\(body.request)", "peer": "\(peer)"]
    }

    /// Decides a run on this node: trust first (hosts authorise the origin; a request fanned
    /// out by another host carries the origin's signed request as proof, see
    /// ``delegationChain(_:_:)``), then the plan, then the secrets. Allowed, it writes the
    /// durable mark that makes a crash from here on an interruption, never a second run, and
    /// orders the run (nil returned); refused, it returns the result to answer with.
    mutating func prepareRun(_ body: RequestBody, _ request: Envelope, _ run: RunID) -> HostResult? {
        let header = request.header
        let meta = Self.meta(body, header.origin)
        let action: TrustAction = body.commands.isEmpty ? .request(body.request) : .adhoc
        let tags = originTags(run.key, request, body)
        let decision = auditedDecision(signer: header.origin, tags: tags, action: action, fields: Self.auditFields(header, body, action))
        guard decision.allowed else {
            log(.warning, "denied: \(decision.reason)", meta)
            return denial(decision, action: action, origin: header.origin, tags: tags)
        }
        // One snapshot of the command map decides, runs and is recorded: a reload since the
        // request arrived may have changed the entry the plan holds it to.
        let commandMap = identity.configuration.commands
        if let mismatch = body.planMismatch(commandMap: commandMap, host: name) {
            log(.warning, "not running: \(mismatch)", meta)
            return HostResult(host: name, state: .failed, message: mismatch)
        }
        let opened: Request
        switch openRequest(body, from: header.origin) {
        case .failure(let problem):
            return HostResult(host: name, state: .failed, message: problem.description)
        case .success(let request):
            opened = request
        }
        switch run {
        case .request(let key):
            spool.markRunning(key)
            write(.spool(key, .running))
        case .ownPart(let key):
            write(.file(path: fanOutPath(key, "own-started"), bytes: [], mode: 0o600))
        }
        log(.info, "running", meta)
        emit(.run(RunOrder(id: run, request: opened, batch: BatchContext(id: body.batch, name: body.batchName, origin: header.origin), commandMap: commandMap)))
        return nil
    }

    /// The request as this host runs it: data, secrets opened with this node's key, commands.
    func openRequest(_ body: RequestBody, from originName: String) -> Result<Request, OpenFailure> {
        var data = RequestData()
        do {
            for field in body.data { try data.set(field.key, field.value) }
            for secret in body.secrets {
                let binding = SecretSealer.requestBinding(
                    origin: originName, batch: body.batch, index: body.index, request: body.request, recipient: name, key: secret.key)
                try data.setSecret(secret.key, .clear(try SecretSealer.open(secret.sealed, with: identity.key, binding: binding)))
            }
        } catch {
            return .failure(OpenFailure(description: "cannot use the request's data on \(name): \(error)"))
        }
        return .success(Request(name: body.request, data: data, commands: body.commands.map { Command($0) }))
    }

    /// `via`, when a host fanned the request out, then the action, batch and position.
    static func auditFields(_ header: EnvelopeHeader, _ body: RequestBody, _ action: TrustAction) -> [(String, String)] {
        (header.sender == header.origin ? [] : [("via", header.sender)])
            + [("action", "\(action)"), ("batch", body.batch), ("index", String(body.index))]
    }

    struct OpenFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Signs `result`, stores it in the spool and the outbox, and sends it to whoever asked
    /// (the origin, or the host that fanned the request out to this one).
    mutating func finishRequest(_ key: RequestKey, result: HostResult, answering request: Envelope) {
        guard let envelope = sign(result, answering: request) else { return }
        // The spool keeps the result durably (after a restart one that was not yet acknowledged
        // is queued again), so the outbox carries it home from memory: one synced write, not two.
        spool.storeResult(envelope, key: key)
        write(.spool(key, .result(envelope)))
        outbox.add(envelope, durable: false)
        flushDue()
    }

    /// Signs `result` for a request that was not stored (a denial) and queues it for whoever asked.
    mutating func answer(request: Envelope, with result: HostResult) {
        guard let envelope = sign(result, answering: request) else { return }
        enqueue([envelope])
        flushDue()
    }

    func sign(_ result: HostResult, answering request: Envelope) -> Envelope? {
        guard case .request(let body) = request.body else { return nil }
        return identity.signResult(
            result, batch: BatchContext(id: body.batch, name: body.batchName, origin: request.header.origin),
            index: body.index, request: body.request, answers: request.header.id, now: now, random: random,
            target: request.header.sender)
    }

    /// After a restart: run what was stored but not started; report what was interrupted.
    /// Requests this node fans out are resumed by ``recoverFanOuts(_:)`` instead.
    mutating func recoverRequests() {
        // Results waiting in the outbox, by the request they answer: one pass, not one per request.
        var pendingAnswers: [String: Envelope] = [:]
        for entry in outbox.entries.values {
            if case .result(let body) = entry.envelope.body { pendingAnswers[body.answers] = entry.envelope }
        }
        var startable: [RequestKey] = []
        for (key, entry) in spool.entries.sorted(by: { $0.key.stem < $1.key.stem }) where fanOuts[key] == nil {
            switch entry.stage {
            case .stored:
                startable += queue.enqueue(key)
            case .running:
                if let pending = pendingAnswers[entry.request.header.id] {
                    spool.storeResult(pending, key: key)
                    write(.spool(key, .result(pending)))
                    continue
                }
                log(.warning, "request \(key) was running when the node stopped; reporting it interrupted, not running it again")
                finishRequest(key, result: interrupted(), answering: entry.request)
            case .finished(let result):
                // Not acknowledged by whoever asked, and not waiting in the outbox: send again.
                if !spool.delivered.contains(key), outbox.entries[result.header.id] == nil {
                    outbox.add(result, durable: false)
                }
            }
        }
        start(startable)
    }

    /// The result of a request that was running when the node stopped.
    func interrupted() -> HostResult {
        HostResult(
            host: name, state: .failed,
            message: "interrupted: cafe-node on \(name) stopped while this request ran; it is not run again, to avoid running it twice")
    }
}
