import CafeCore
import CafeCrypto
import CafeWire
import Logging

/// Every decision of a node, and nothing else: a value that takes one ``NodeEvent`` at a time
/// and returns the ``NodeEffect``s its shell must carry out. It holds what the node knows
/// (the replay window, the outbox and request spool as they stand, the batches it originates,
/// the requests it fans out, the relay's holding area, the plans it collects) and applies the
/// pure machines (``BatchEngine``, ``HostQueue``, ``ReplayWindow``, ``TrustPolicy``). It reads
/// no file, opens no socket, starts no process and reads no clock: time comes with each event,
/// randomness from the injected source. So it can run a million times in a simulation.
struct NodeCore: Sendable {
    /// The identity and configuration in force (replaced by ``NodeEvent/identity(_:generation:)``).
    var identity: NodeIdentity
    /// Its number, for refusals ("config generation 3").
    var generation = 1
    let random: any RandomSource
    /// The time of the event being handled.
    var now: Timestamp

    var replay: ReplayWindow
    var outbox = Outbox()
    var spool = RequestSpool()
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
    /// Plans being collected (`cafe batch plan`), by plan id.
    var plans: [BatchID: PendingPlan] = [:]
    /// Requests stored here that wait for, or hold, one of `max-parallel` slots.
    var queue: HostQueue<RequestKey>
    var stopping = false
    var lastPrune: Timestamp

    /// The effects of the event being handled, in order.
    private var effects: [NodeEffect] = []

    var name: String { identity.name }
    var home: NodeHome { identity.home }
    var trust: TrustPolicy { TrustPolicy(identity.configuration.trust) }

    init(identity: NodeIdentity, random: any RandomSource, maxParallel: Int, now: Timestamp) {
        self.identity = identity
        self.random = random
        self.now = now
        lastPrune = now
        replay = ReplayWindow(node: identity.name, maxSkew: identity.configuration.node.settings.maxClockSkew)
        queue = HostQueue(maxParallel: max(1, maxParallel))
    }

    /// Takes `event` at `now`; returns what the shell must do, durable writes first in order.
    mutating func handle(_ event: NodeEvent, now: Timestamp) -> [NodeEffect] {
        self.now = now
        effects = []
        switch event {
        case .start(let disk): start(disk)
        case .envelope(let opened, let peer): receive(opened, from: peer)
        case .tick: tick()
        case .submit(let order, let token): submit(order, token)
        case .collectPlan(let order, let token): collectPlan(order, token)
        case .control(let id, let action, let token): control(id, action, token)
        case .ran(let run, let result): ran(run, result)
        case .reachable(let peer): peerReachable(peer)
        case .undelivered(let envelope, let peer, let transmission): undelivered(envelope, to: peer, transmission)
        case .identity(let identity, let generation): identityChanged(identity, generation: generation)
        case .stop: stop()
        }
        defer { effects = [] }
        return effects
    }

    // MARK: - Effects

    mutating func emit(_ effect: NodeEffect) { effects.append(effect) }

    mutating func write(_ write: DurableWrite) { effects.append(.write(write)) }

    mutating func log(_ level: Logger.Level, _ message: String, _ metadata: Logger.Metadata = [:]) {
        effects.append(.log(level, message, metadata))
    }

    // MARK: - Life cycle

    /// Resumes everything the disk holds unfinished: queued and running batches, requests
    /// stored but not run, requests interrupted while running, results not yet delivered.
    mutating func start(_ disk: LoadedDisk) {
        outbox = disk.outbox
        spool = disk.spool
        replay = ReplayWindow(node: name, maxSkew: identity.configuration.node.settings.maxClockSkew, seen: disk.seen)
        quarantineOrphans()
        recoverBatches(disk.batches)
        recoverFanOuts(disk.fanOuts)
        recoverRequests()
        flushDue()
    }

    /// Stops taking work: nothing more starts; what runs finishes.
    mutating func stop() {
        stopping = true
        queue.stop()
        let reason = "cafe-node on \(name) stopped before the answer came"
        for id in plans.keys.sorted() { updatePlan(id) { [now] in $0.expire(now: now, because: reason) } }
    }

    /// Outbox entries for nodes that are no longer peers go to quarantine (with the reason):
    /// nothing could ever deliver them.
    mutating func quarantineOrphans() {
        for entry in outbox.entries.values where entry.target != name && identity.configuration.node.peers[entry.target] == nil {
            let reason = "for \(entry.target), which is no longer a peer in node.yaml"
            outbox.remove(entry.envelope.header.id)
            // A result's record is its request's in the spool, which keeps it until it expires.
            if entry.durable {
                write(.outboxQuarantine(entry.envelope, reason: reason))
            } else {
                log(.warning, "not sending result \(entry.envelope.header.id): \(reason)")
            }
        }
    }

    /// A reload applied, or a certificate was learned.
    mutating func identityChanged(_ identity: NodeIdentity, generation: Int) {
        let reloaded = generation != self.generation
        self.identity = identity
        self.generation = generation
        if reloaded { quarantineOrphans() }
    }

    /// A peer became reachable: send at once everything whose route starts with it.
    mutating func peerReachable(_ peer: String) {
        for waiting in awaitingKey.removeValue(forKey: peer) ?? [] {
            send(waiting.delivery, [(waiting.request, peer)], introduced: true)
        }
        for target in outbox.targets where firstHop(to: target) == peer { outbox.unpark(target) }
        flushDue()
        releaseHeld(for: peer)
    }

    /// Whether nothing here waits on the clock at a finer grain than a second: no batch, fan-out
    /// or plan, whose deadlines an operator watches. The rest of the tick's work keeps to seconds
    /// and more: outbox entries are sent when added or when their peer comes up, and sent again
    /// after 5 s at the soonest; a parked target is tried once a second; held relay envelopes
    /// expire after 60 s; expired ids are pruned once a minute. A quiet node needs a tick once a
    /// second, not ten times, even while it keeps results for an origin that is down for days.
    var isQuiet: Bool {
        batches.isEmpty && fanOuts.isEmpty && plans.isEmpty
    }

    /// Periodic work: batch deadlines, retransmissions, pruning of expired ids.
    mutating func tick() {
        for id in batches.keys.sorted() {
            if let resumed = resumedAt[id] {
                guard now.seconds(since: resumed) >= Self.resumeGrace else { continue }
                resumedAt[id] = nil
            }
            step(.batch(id)) { [now] in $0.tick(now: now) }
        }
        for key in fanOuts.keys.sorted(by: { $0.stem < $1.stem }) {
            step(.fanOut(key)) { [now] in $0.tick(now: now) }
        }
        for id in plans.keys.sorted() { updatePlan(id) { [now] in $0.expire(now: now) } }
        for entry in outbox.removeExpired(now: now) {
            if entry.durable { write(.outboxRemove(id: entry.envelope.header.id, synced: true)) }
            log(.warning, "gave up on \(entry.envelope.header.kind.rawValue) \(entry.envelope.header.id): it expired before \(entry.target) could be reached")
        }
        pokeParked()
        flushDue()
        if !relayHold.isEmpty { releaseHeld(for: nil) }
        if now.seconds(since: lastPrune) > 60 {
            lastPrune = now
            replay.prune(now: now)
            write(.seenRewrite(replay.seen))
            pruneSpool()
        }
    }

    /// Forgets answered requests that may no longer arrive again.
    mutating func pruneSpool() {
        for (key, entry) in spool.entries where entry.request.header.expires < now {
            // Stored and running entries still owe an answer (expired or interrupted).
            guard case .finished = entry.stage, (delegation(key)?.latestExpiry ?? entry.request.header.expires) < now else { continue }
            spool.remove(key)
            write(.spool(key, .remove))
        }
    }

    // MARK: - Incoming

    /// An envelope whose signature has been checked (by the shell, off its executor).
    mutating func receive(_ opened: OpenedEnvelope, from peer: String) {
        let envelope = opened.envelope
        emit(.metric(.envelopeReceived))
        let verdict = replay.check(envelope.header, now: now)
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
    mutating func learnCertificate(of envelope: Envelope) {
        guard let proof = envelope.signer, proof.certified, let certificate = proof.certificate,
            identity.certificates[envelope.header.sender] != certificate
        else { return }
        emit(.learn(envelope.header.sender, proof, Credentials()))
    }

    /// Refuses (logs, and acknowledges as refused unless it was misaddressed) an envelope the
    /// replay window turned down for any reason but having been seen before; true if refused.
    /// Seen-before copies of requests and results are duplicates, answered by their handlers.
    mutating func refuseStale(_ header: EnvelopeHeader, _ verdict: ReplayWindow.Verdict, _ meta: Logger.Metadata) -> Bool {
        guard case .refuse(let refusal) = verdict, refusal.kind != .replayed else { return false }
        log(.warning, "refused \(header.kind.rawValue): \(refusal)", meta)
        if refusal.kind != .wrongTarget { acknowledge(header, .refused, code: Self.code(for: refusal.kind), reason: refusal.message) }
        return true
    }

    /// For envelopes answered whole on arrival (plan requests and answers): refuses a stale one
    /// (``refuseStale(_:_:_:)``) and acknowledges a replayed one as a duplicate, since its answer
    /// was given when it first came; true when `header` is new and may be handled.
    mutating func admitFresh(_ header: EnvelopeHeader, _ verdict: ReplayWindow.Verdict, _ meta: Logger.Metadata) -> Bool {
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

    /// The trust decision for `signer`, with its audit line written first: if the line cannot
    /// be written, the shell acts on nothing of the step (and stops), so nothing runs or passes
    /// without it.
    /// `tags` are those the signer's valid fleet certificate gives it.
    mutating func auditedDecision(signer: String, tags: [String] = [], action: TrustAction, fields: [(String, String)]) -> TrustDecision {
        let decision = trust.decide(signer: signer, tags: tags, action: action)
        audit(
            allowed: decision.allowed, fields: [("signer", signer)] + (tags.isEmpty ? [] : [("tags", tags.joined(separator: ","))]) + fields,
            reason: decision.reason)
        return decision
    }

    mutating func audit(allowed: Bool, fields: [(String, String)], reason: String) {
        write(.audit(AuditLine(allowed: allowed, fields: fields, reason: reason)))
    }

    /// Seals a request's secret to `host` and stores the request envelope in the outbox.
    func requestEnvelope(_ body: RequestBody, origin: String, to host: String, expires: Timestamp) -> Envelope {
        Envelope.seal(
            header: makeHeader(.request, origin: origin, target: host, expires: expires), body: .request(body), key: identity.key, credentials: identity.credentials)
    }

    /// True (and a link to `host` is under way) when a request with secrets for `host` must
    /// wait: `host` has no `key:` in node.yaml and has not presented a certificate yet. A
    /// second attempt (`introduced`) never waits: the sealing then fails and says why.
    mutating func mustAwaitKey(of host: String, secrets: Bool, introduced: Bool, _ waiting: AwaitingKey) -> Bool {
        guard secrets, !introduced, identity.sealingKey(for: host, now: now) == nil,
            case .address? = identity.configuration.node.peers[host]?.route
        else { return false }
        log(.info, "waiting for \(host)'s certificate (its first link) to seal the request's secrets to it", ["peer": "\(host)"])
        awaitingKey[host, default: []].append(waiting)
        emit(.connect(host))
        return true
    }

    /// `clear` sealed to `host` for request `index` of `batch` from `origin`.
    func seal(_ clear: SecretBytes, for host: String, origin: String, batch: String, index: Int, request: String, key: String) throws -> String {
        guard let recipient = identity.sealingKey(for: host, now: now) else {
            throw EnvironmentError("no key for \(host) to seal its secrets to: give it a key: in node.yaml, or let it link to this node once so its fleet certificate is known")
        }
        return try SecretSealer.seal(
            clear, to: recipient,
            binding: SecretSealer.requestBinding(origin: origin, batch: batch, index: index, request: request, recipient: host, key: key))
    }

    /// Records `header`'s id as seen. `synced: false` where another durable store already
    /// tells a copy of it apart (a stored request's spool entry, a journaled result): a crash
    /// that loses the line costs nothing, and the next synced line flushes it.
    mutating func remember(_ header: EnvelopeHeader, synced: Bool = true) {
        replay.remember(header)
        write(.seen([(ReplayWindow.key(header), header.expires)], synced: synced))
    }

    // MARK: - Outgoing

    /// Stores `envelopes` in the outbox durably (one write for all); they go out with the next
    /// ``flushDue()``.
    mutating func enqueue(_ envelopes: [Envelope]) {
        guard !envelopes.isEmpty else { return }
        write(.outboxAdd(envelopes))
        for envelope in envelopes { outbox.add(envelope, durable: true) }
    }

    /// Sends what the outbox holds that was never sent or is due again (with the
    /// store-and-forward backoff of ``Outbox/Entry/retryDelay``), oldest first. A target with
    /// no link is parked (``undelivered(_:to:_:)``): its entries wait, costing nothing per
    /// tick, until it is reachable (``peerReachable(_:)``) or a poke gets through
    /// (``pokeParked()``).
    mutating func flushDue() {
        for entry in outbox.takeDue(at: now) {
            outbox.markSent(entry.envelope.header.id, at: now)
            deliver(entry.envelope, to: entry.target, .outbox(id: entry.envelope.header.id))
        }
    }

    /// Tries each parked target once a second with its oldest entry (which also has the
    /// transport dial it); when that goes through, the rest follow.
    mutating func pokeParked() {
        for (target, since) in outbox.parked.sorted(by: { $0.key < $1.key }) where now.seconds(since: since) >= 1 {
            guard let oldest = outbox.oldest(for: target) else {
                outbox.unpark(target)
                continue
            }
            outbox.park(target, at: now)
            outbox.markSent(oldest.envelope.header.id, at: now)
            deliver(oldest.envelope, to: target, .poke(id: oldest.envelope.header.id))
        }
    }

    /// A transmission found no link: an outbox entry's target is parked, a relayed envelope is
    /// held; an acknowledgement is lost (its sender sends again).
    mutating func undelivered(_ envelope: Envelope, to peer: String, _ transmission: Transmission) {
        switch transmission {
        case .outbox(let id), .poke(let id):
            guard let entry = outbox.entries[id] else { return }
            outbox.unsent(id)
            outbox.park(entry.target, at: now)
        case .relay(let inner, let path):
            holdForRelay(inner, path: path)
        case .ack:
            break
        }
    }

    /// Sends `envelope` towards `target` by this node's route to it: itself (handed back as an
    /// arrival), a direct link (TCP or drop-box), or through a relay (`via:`), in a
    /// ``ForwardBody`` whose `path` lists the nodes it has passed so far.
    mutating func deliver(_ envelope: Envelope, to target: String, _ transmission: Transmission, path: [String]? = nil) {
        if target == name {
            emit(.loopback(envelope))
            return
        }
        guard let peer = identity.configuration.node.peers[target] else {
            log(.warning, "no route to \(target): it is not a peer in node.yaml", ["peer": "\(target)"])
            undelivered(envelope, to: target, transmission)
            return
        }
        guard case .via(let relay) = peer.route else {
            emit(.transmit(envelope, to: target, transmission))
            return
        }
        let hops = path ?? [name]
        let forward = Envelope.seal(
            header: EnvelopeHeader(
                kind: .forward, id: EnvelopeID.make(time: now, random: random), origin: envelope.header.origin,
                sender: name, target: relay, created: now, expires: min(envelope.header.expires, now.adding(seconds: 3600))),
            body: .forward(ForwardBody(path: hops, envelope: envelope.text)), key: identity.key, credentials: identity.credentials)
        deliver(forward, to: relay, transmission)
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
    mutating func acknowledge(_ header: EnvelopeHeader, _ status: AckBody.Status, code: AckBody.Code? = nil, reason: String? = nil) {
        let ack = Envelope.seal(
            header: EnvelopeHeader(
                kind: .ack, id: EnvelopeID.make(time: now, random: random), origin: header.origin, sender: name,
                target: header.sender, created: now, expires: now.adding(seconds: 3600)),
            body: .ack(AckBody(acks: header.id, status: status, code: code, reason: reason)), key: identity.key, credentials: identity.credentials)
        deliver(ack, to: header.sender, .ack)
    }

    func makeHeader(_ kind: EnvelopeKind, origin: String, target: String, expires: Timestamp) -> EnvelopeHeader {
        EnvelopeHeader(
            kind: kind, id: EnvelopeID.make(time: now, random: random), origin: origin, sender: name, target: target,
            created: now, expires: expires)
    }

    /// "config generation N", for refusals and logs.
    var configGeneration: String { "config generation \(generation)" }
}

/// A batch this node originated and is running.
struct RunningBatch: Sendable {
    /// The batch as saved in batches/original (secrets sealed to this node).
    var batch: Batch
    var engine: BatchEngine
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
