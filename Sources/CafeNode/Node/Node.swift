import CafeCore
import CafeCrypto
import CafeWire
import Logging

/// The daemon's core: one actor that owns the spools, the running batches and the replay
/// window, applies the pure state machines (``BatchEngine``, ``ReplayWindow``, ``TrustPolicy``)
/// and carries out what they decide. Transports and the control socket call into it; it calls
/// out only through ``PeerTransport``.
public actor Node {
    /// The identity and configuration in force, replaced whole by ``reload()``.
    public let current: CurrentIdentity
    public nonisolated var identity: NodeIdentity { current.identity }
    let clock: any WallClock
    let random: any RandomSource
    let runner: CommandRunner
    let logger: Logger
    let audit: AuditLog
    var trust: TrustPolicy { TrustPolicy(identity.configuration.trust) }
    let quarantine: Quarantine
    var transport: (any PeerTransport)?

    var replay: ReplayWindow
    let seenLog: SeenLog
    var outbox: Outbox
    var spool: RequestSpool
    var batches: [BatchID: RunningBatch] = [:]
    /// When batches were resumed after a restart (their deadlines wait ``resumeGrace``).
    var resumedAt: [BatchID: Timestamp] = [:]
    /// Envelopes relayed for others, waiting for their next hop (by that hop).
    var relayHold: [String: [HeldEnvelope]] = [:]
    /// Requests this node fans out to its own hosts (hierarchical delivery).
    var fanOuts: [RequestKey: FanOut] = [:]
    /// Requests with secrets for key-less peers, waiting for the peer's certificate (its
    /// first link) before they can be sealed to it.
    var awaitingKey: [String: [AwaitingKey]] = [:]
    var followers: [BatchID: [Int: AsyncStream<FollowEvent>.Continuation]] = [:]
    /// Plans being collected (`cafe batch plan`), by plan id.
    var plans: [BatchID: PendingPlan] = [:]
    var nextFollower = 0
    /// Drop-box names already reported as unknown (each is logged once).
    var reportedDropboxNames: Set<String> = []

    /// Requests stored here that wait for, or hold, one of `max-parallel` slots.
    var queue: HostQueue<RequestKey>
    var stopping = false
    var lastPrune: Timestamp
    /// When the gauges were last set (once a second: the outbox's oldest entry is a scan).
    var lastGauges = Timestamp(milliseconds: 0)

    public var name: String { identity.name }

    /// Opens the node's spools under its home (quarantining what does not verify). Call
    /// ``start()`` next to resume unfinished work.
    public init(
        identity: NodeIdentity, clock: any WallClock = SystemClock(), random: any RandomSource = SystemRandom(),
        runner: CommandRunner = CommandRunner(), logger: Logger, maxParallel: Int = 32
    ) throws {
        let home = identity.home
        try home.createLayout()
        current = CurrentIdentity(identity)
        self.clock = clock
        self.random = random
        self.runner = runner
        self.logger = logger
        queue = HostQueue(maxParallel: max(1, maxParallel))
        audit = AuditLog(path: home.auditLog, clock: clock)
        quarantine = Quarantine(directory: home.spool + "/quarantine")
        let now = clock.now()
        lastPrune = now
        let (log, seen) = try SeenLog.open(home.spool + "/seen.log", now: now)
        seenLog = log
        replay = ReplayWindow(node: identity.name, maxSkew: identity.configuration.node.settings.maxClockSkew, seen: seen)
        outbox = Outbox(directory: home.spool + "/outbox")
        spool = RequestSpool(directory: home.spool + "/requests")
        for problem in try outbox.load(keys: identity.keys, quarantine: quarantine) { logger.error("\(problem)") }
        for problem in try spool.load(keys: identity.keys, quarantine: quarantine) { logger.error("\(problem)") }
    }

    public func attach(_ transport: any PeerTransport) {
        self.transport = transport
    }

    /// Resumes everything a previous run left unfinished: queued and running batches, requests
    /// stored but not run, requests interrupted while running, results not yet delivered.
    public func start() async throws {
        try quarantineOrphans()
        try recoverBatches()
        try recoverFanOuts()
        try recoverRequests()
        flushDue()
    }

    /// Outbox entries for nodes that are no longer peers go to quarantine (with the reason):
    /// nothing could ever deliver them.
    func quarantineOrphans() throws {
        for entry in outbox.entries.values where entry.target != name && identity.configuration.node.peers[entry.target] == nil {
            let reason = "for \(entry.target), which is no longer a peer in node.yaml"
            // A result's file is its request's in the spool, which keeps it until it expires.
            let problem = try entry.path.map { try quarantine.take($0, reason: reason) } ?? "not sending result \(entry.envelope.header.id): \(reason)"
            _ = try outbox.remove(entry.envelope.header.id)
            logger.warning("\(problem)")
        }
    }

    /// A peer became reachable: send at once everything whose route starts with it.
    public func peerReachable(_ peer: String) {
        for waiting in awaitingKey.removeValue(forKey: peer) ?? [] {
            send(waiting.delivery, request: waiting.request, to: peer, introduced: true)
        }
        for target in outbox.targets where firstHop(to: target) == peer { outbox.unpark(target) }
        flushDue()
        releaseHeld(for: peer)
    }

    /// Periodic work: batch deadlines, retransmissions, pruning of expired ids.
    public func tick() {
        let now = clock.now()
        for id in Array(batches.keys) {
            if let resumed = resumedAt[id] {
                guard now.seconds(since: resumed) >= Self.resumeGrace else { continue }
                resumedAt[id] = nil
            }
            step(.batch(id)) { $0.tick(now: now) }
        }
        for key in Array(fanOuts.keys) {
            step(.fanOut(key)) { $0.tick(now: now) }
        }
        for id in Array(plans.keys) { updatePlan(id) { $0.expire(now: now) } }
        do {
            for entry in try outbox.removeExpired(now: now) {
                logger.warning("gave up on \(entry.envelope.header.kind.rawValue) \(entry.envelope.header.id): it expired before \(entry.target) could be reached")
            }
        } catch {
            logger.error("cannot clean the outbox: \(error)")
        }
        pokeParked(now: now)
        flushDue()
        if now.seconds(since: lastGauges) >= 1 {
            lastGauges = now
            NodeMetrics.batchesRunning.record(batches.count)
            NodeMetrics.requestsWaiting.record(queue.waitingCount)
            NodeMetrics.requestsRunning.record(queue.running)
            NodeMetrics.outboxEnvelopes.record(outbox.entries.count)
            NodeMetrics.outboxOldestAge.record(outbox.oldestAge(at: now))
        }
        if !relayHold.isEmpty { releaseHeld(for: nil) }
        if now.seconds(since: lastPrune) > 60 {
            lastPrune = now
            replay.prune(now: now)
            do {
                try seenLog.rewrite(replay.seen)
            } catch {
                logger.error("compacting the seen-set failed: \(error)")
            }
            do {
                try spool.prune(now: now) { self.latestExpiry(of: $0) }
            } catch {
                logger.error("pruning the request spool failed: \(error)")
            }
        }
    }

    /// Stops taking new work and waits (up to `grace` seconds) for running commands to end.
    public func shutdown(grace: Double = 10) async {
        stopping = true
        queue.stop()
        let deadline = Monotonic.seconds() + grace
        while queue.running > 0 && Monotonic.seconds() < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if queue.running > 0 {
            logger.warning("stopping with \(queue.running) request(s) still running; they will be reported as interrupted after a restart")
        }
        for (_, streams) in followers { for (_, stream) in streams { stream.finish() } }
        followers = [:]
        for id in Array(plans.keys) { updatePlan(id) { $0.expire(now: clock.now(), because: "cafe-node on \(name) stopped before the answer came") } }
    }

    // MARK: - Incoming

    /// An envelope arrived from `peer` (the neighbour it came from, or this node itself).
    /// It is verified before anything is read from it; refusals are logged with the reason.
    /// Verifying and decoding, the part whose cost grows with the input, run off the actor
    /// (for a forward, the envelope inside too), so that no input holds the node's decisions.
    public nonisolated func receive(_ bytes: [UInt8], from peer: String) async {
        guard let opened = open(bytes, source: "envelope from \(peer)", peer: peer) else { return }
        await handle(opened, from: peer)
    }

    /// `bytes` verified and decoded, or nil (logged and counted) when they do not verify.
    nonisolated func open(_ bytes: [UInt8], source: String, peer: String) -> OpenedEnvelope? {
        do {
            return OpenedEnvelope(try Envelope.open(bytes, keys: identity.keys, source: source), keys: identity.keys)
        } catch {
            logger.warning("refused envelope", metadata: ["peer": "\(peer)", "reason": "\(error)"])
            NodeMetrics.refused((error as? EnvelopeError)?.reason.rawValue ?? "malformed")
            return nil
        }
    }

    /// An envelope whose signature has been checked (by ``receive(_:from:)`` or the drop-box).
    func handle(_ opened: OpenedEnvelope, from peer: String) {
        let envelope = opened.envelope
        NodeMetrics.envelopesReceived.increment()
        let verdict = replay.check(envelope.header, now: clock.now())
        learnCertificate(of: envelope)
        if let inner = opened.inner.flatMap({ try? $0.get() }) { learnCertificate(of: inner) }
        switch envelope.body {
        case .request(let body): receiveRequest(envelope, body, verdict)
        case .result(let body): receiveResult(envelope, body, verdict)
        case .ack(let body): receiveAck(envelope, body, verdict)
        case .forward(let body):
            receiveForward(envelope, body, opened.inner ?? OpenedEnvelope.openInner(body, of: envelope, keys: identity.keys), verdict)
        case .planRequest(let body): receivePlanRequest(envelope, body, verdict)
        case .planAnswer(let body): receivePlanAnswer(envelope, body, verdict)
        }
    }

    /// Keeps the certificate that proved a signer with no `key:` line (a host behind a relay
    /// whose results come home, say), so secrets can be sealed to it later.
    func learnCertificate(of envelope: Envelope) {
        guard let proof = envelope.signer, proof.certified, let certificate = proof.certificate,
            identity.certificates[envelope.header.sender] != certificate
        else { return }
        do {
            for line in try current.learn(envelope.header.sender, credentials: Credentials(), proof: proof) {
                logger.notice("\(line)", metadata: ["peer": "\(envelope.header.sender)"])
            }
        } catch {
            logger.error("cannot record \(envelope.header.sender)'s certificate: \(error)")
        }
    }

    /// Refuses (logs, and acknowledges as refused unless it was misaddressed) an envelope the
    /// replay window turned down for any reason but having been seen before; true if refused.
    /// Seen-before copies of requests and results are duplicates, answered by their handlers.
    func refuseStale(_ header: EnvelopeHeader, _ verdict: ReplayWindow.Verdict, _ meta: Logger.Metadata) -> Bool {
        guard case .refuse(let refusal) = verdict, refusal.kind != .replayed else { return false }
        logger.warning("refused \(header.kind.rawValue): \(refusal)", metadata: meta)
        if refusal.kind != .wrongTarget { acknowledge(header, .refused, code: Self.code(for: refusal.kind), reason: refusal.message) }
        return true
    }

    /// For envelopes answered whole on arrival (plan requests and answers): refuses a stale one
    /// (``refuseStale(_:_:_:)``) and acknowledges a replayed one as a duplicate, since its answer
    /// was given when it first came; true when `header` is new and may be handled.
    func admitFresh(_ header: EnvelopeHeader, _ verdict: ReplayWindow.Verdict, _ meta: Logger.Metadata) -> Bool {
        if refuseStale(header, verdict, meta) { return false }
        guard case .refuse = verdict else { return true }
        acknowledge(header, .duplicate)
        return false
    }

    static func code(for kind: ReplayWindow.Refusal.Kind) -> AckBody.Code {
        switch kind {
        case .expired, .lifetimeTooLong: .expired
        case .replayed: .replay
        case .wrongTarget, .fromTheFuture: .malformed
        }
    }

    /// The trust decision for `signer`, written to the audit log first. If the line cannot be
    /// written the answer is no: nothing runs or passes without its audit line.
    /// `tags` are those the signer's valid fleet certificate gives it.
    func auditedDecision(
        signer: String, tags: [String] = [], action: TrustAction, fields: [(String, String)], _ meta: Logger.Metadata
    ) -> TrustDecision {
        let decision = trust.decide(signer: signer, tags: tags, action: action)
        do {
            try audit.record(
                allowed: decision.allowed, fields: [("signer", signer)] + (tags.isEmpty ? [] : [("tags", tags.joined(separator: ","))]) + fields,
                reason: decision.reason)
            return decision
        } catch {
            logger.critical("\(error)", metadata: meta)
            return TrustDecision(allowed: false, reason: "the audit log cannot be written, so nothing runs (\(error))")
        }
    }

    /// Seals a request's secret to `host` and stores the request envelope in the outbox.
    func requestEnvelope(_ body: RequestBody, origin: String, to host: String, expires: Timestamp) -> Envelope {
        Envelope.seal(
            header: makeHeader(.request, origin: origin, target: host, expires: expires), body: .request(body), key: identity.key, credentials: identity.credentials)
    }

    /// True (and a link to `host` is under way) when a request with secrets for `host` must
    /// wait: `host` has no `key:` in node.yaml and has not presented a certificate yet. A
    /// second attempt (`introduced`) never waits: the sealing then fails and says why.
    func mustAwaitKey(of host: String, secrets: Bool, introduced: Bool, _ waiting: AwaitingKey) -> Bool {
        guard secrets, !introduced, identity.sealingKey(for: host, now: clock.now()) == nil,
            case .address? = identity.configuration.node.peers[host]?.route
        else { return false }
        logger.info("waiting for \(host)'s certificate (its first link) to seal the request's secrets to it", metadata: ["peer": "\(host)"])
        awaitingKey[host, default: []].append(waiting)
        transport?.connect(host)
        return true
    }

    /// `clear` sealed to `host` for request `index` of `batch` from `origin`.
    func seal(_ clear: SecretBytes, for host: String, origin: String, batch: String, index: Int, request: String, key: String) throws -> String {
        guard let recipient = identity.sealingKey(for: host, now: clock.now()) else {
            throw EnvironmentError("no key for \(host) to seal its secrets to: give it a key: in node.yaml, or let it link to this node once so its fleet certificate is known")
        }
        return try SecretSealer.seal(
            clear, to: recipient,
            binding: SecretSealer.requestBinding(origin: origin, batch: batch, index: index, request: request, recipient: host, key: key))
    }

    /// Remembers an admitted envelope durably before it is acted on.
    /// Records `header`'s id as seen. `synced: false` where another durable store already
    /// tells a copy of it apart (a stored request's spool entry, a journaled result): a crash
    /// that loses the line costs nothing, and the next synced line flushes it.
    func remember(_ header: EnvelopeHeader, synced: Bool = true) throws {
        replay.remember(header)
        try seenLog.record([(ReplayWindow.key(header), header.expires)], synced: synced)
    }

    // MARK: - Outgoing

    /// Sends what the outbox holds that was never sent or is due again (with the
    /// store-and-forward backoff of ``Outbox/Entry/retryDelay``), oldest first. A target that
    /// cannot be reached now is parked: its entries wait, costing nothing per tick, until it is
    /// reachable (``peerReachable(_:)``) or a poke gets through (``pokeParked(now:)``).
    func flushDue() {
        let now = clock.now()
        var unreachable: Set<String> = []
        for entry in outbox.takeDue(at: now) {
            let target = entry.target
            guard !unreachable.contains(target) else { continue }
            if deliver(entry.envelope, to: target) {
                outbox.markSent(entry.envelope.header.id, at: now)
            } else {
                unreachable.insert(target)
                outbox.park(target, at: now)
            }
        }
    }

    /// Tries each parked target once a second with its oldest entry (which also has the
    /// transport dial it); when that goes through, the rest follow.
    func pokeParked(now: Timestamp) {
        for (target, since) in outbox.parked where now.seconds(since: since) >= 1 {
            guard let oldest = outbox.oldest(for: target) else {
                outbox.unpark(target)
                continue
            }
            if deliver(oldest.envelope, to: target) {
                outbox.markSent(oldest.envelope.header.id, at: now)
                outbox.unpark(target, except: oldest.envelope.header.id)
            } else {
                outbox.park(target, at: now)
            }
        }
    }

    /// Sends `envelope` towards `target` by this node's route to it: itself (straight back to
    /// ``receive(_:from:)``), a direct link (TCP or drop-box), or through a relay (`via:`), in a
    /// ``ForwardBody`` whose `path` lists the nodes it has passed so far.
    func deliver(_ envelope: Envelope, to target: String, path: [String]? = nil) -> Bool {
        if target == name {
            let bytes = envelope.bytes
            Task { await self.receive(bytes, from: target) }
            return true
        }
        guard let peer = identity.configuration.node.peers[target] else {
            logger.warning("no route to \(target): it is not a peer in node.yaml", metadata: ["peer": "\(target)"])
            return false
        }
        guard case .via(let relay) = peer.route else {
            return transport?.send(envelope.bytes, to: target) ?? false
        }
        let hops = path ?? [name]
        let now = clock.now()
        let forward = Envelope.seal(
            header: EnvelopeHeader(
                kind: .forward, id: EnvelopeID.make(time: now, random: random), origin: envelope.header.origin,
                sender: name, target: relay, created: now, expires: min(envelope.header.expires, now.adding(seconds: 3600))),
            body: .forward(ForwardBody(path: hops, envelope: envelope.text)), key: identity.key, credentials: identity.credentials)
        return deliver(forward, to: relay)
    }

    /// The latest expiry in a request's delegation chain: until then a copy of the same request
    /// (from the origin, or made afresh by a forwarding host) could still arrive, so the spool
    /// keeps the entry that makes it a duplicate.
    func latestExpiry(of request: Envelope) -> Timestamp {
        var latest = request.header.expires
        var current = request
        while case .request(let body) = current.body, let text = body.delegation,
            let parent = try? Envelope.open(Array(text.utf8), keys: identity.keys)
        {
            latest = max(latest, parent.header.expires)
            current = parent
        }
        return latest
    }

    /// The neighbour an envelope for `target` is first handed to.
    func firstHop(to target: String) -> String {
        var current = target
        var seen: Set<String> = []
        while case .via(let relay)? = identity.configuration.node.peers[current]?.route, seen.insert(current).inserted {
            current = relay
        }
        return current
    }

    /// Signs and sends an acknowledgement (not kept in the outbox: a lost ack makes the sender
    /// send again, and the duplicate is acknowledged again).
    func acknowledge(_ header: EnvelopeHeader, _ status: AckBody.Status, code: AckBody.Code? = nil, reason: String? = nil) {
        let now = clock.now()
        let ack = Envelope.seal(
            header: EnvelopeHeader(
                kind: .ack, id: EnvelopeID.make(time: now, random: random), origin: header.origin, sender: name,
                target: header.sender, created: now, expires: now.adding(seconds: 3600)),
            body: .ack(AckBody(acks: header.id, status: status, code: code, reason: reason)), key: identity.key, credentials: identity.credentials)
        _ = deliver(ack, to: header.sender)
    }

    func makeHeader(_ kind: EnvelopeKind, origin: String, target: String, expires: Timestamp) -> EnvelopeHeader {
        let now = clock.now()
        return EnvelopeHeader(
            kind: kind, id: EnvelopeID.make(time: now, random: random), origin: origin, sender: name, target: target,
            created: now, expires: expires)
    }
}

/// A batch this node originated and is running.
struct RunningBatch {
    /// The batch as saved in batches/original (secrets sealed to this node).
    var batch: Batch
    var engine: BatchEngine
    var journal: BatchJournal
}

/// What a follower of a batch (`cafe batch run`) hears.
public enum FollowEvent: Sendable, Equatable {
    case progress(request: Int, name: String, host: String, state: HostState, note: String?)
    /// The batch as a whole moved on: a group began or passed, a check started, the operator
    /// paused, resumed or cancelled. `hosts`: how many hosts request `request` goes to.
    case stage(request: Int, name: String, hosts: Int, note: String)
    case finished(state: BatchState, path: String)
    /// The batch could not be brought to its end now (the node says why).
    case failed(String)
}
