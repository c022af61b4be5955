import CafeCore
import CafeCrypto
import CafeWire
import Logging

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
    // MARK: - Submitting

    /// Accepts a batch: gives it an id, saves the original (secrets sealed to this node) and
    /// the plan, then starts it. Returns once everything is on disk; `follow` gets its events.
    public func submit(_ input: BatchInput, options: SubmitOptions = SubmitOptions(), follow: Bool = false) throws
        -> (id: BatchID, events: AsyncStream<FollowEvent>?)
    {
        guard !stopping else { throw EnvironmentError("cafe-node is stopping; try again when it is back", exitStatus: 3) }
        let now = clock.now()
        var batch = Batch(id: BatchID(time: now, random: random), name: input.name, origin: name, created: now, requests: input.requests)
        if let hosts = options.hosts {
            let groups = try resolveHosts(hosts)
            for index in batch.requests.indices { batch.requests[index].groups = groups }
        }
        let plan = try makePlan(batch, timeout: options.timeout, expiresIn: input.expiresIn, now: now)
        if let hash = options.plan { try applyPlan(hash, to: &batch, plan: plan, source: "batch '\(batch.name)'") }
        let sealed = try identity.sealingSecrets(of: batch)
        let home = identity.home
        try FileSystem.writeAtomically(try sealed.originalYAML(), to: home.batchFile(batch.id, in: .original))
        try FileSystem.writeAtomically(plan.yaml, to: home.batchFile(batch.id, in: .queue))
        logger.info("accepted batch '\(batch.name)' with \(batch.requests.count) request(s)", metadata: ["batch": "\(batch.id)"])
        let events = follow ? self.follow(batch.id) : nil
        do {
            try begin(sealed, plan: plan)
        } catch {
            for (_, stream) in followers.removeValue(forKey: batch.id) ?? [:] { stream.finish() }
            throw error
        }
        return (batch.id, events)
    }

    /// The hosts of every request: its own groups, or the delivery map's entry.
    /// `--on` items as groups: names as given; a glob (`web*`, `db?`) as the peers (and this
    /// node) it matches, in name order; a selector (`tag:web`) as the peers tagged so; `@ENTRY`
    /// alone as the groups of that delivery.yaml entry, rules included.
    func resolveHosts(_ items: [String]) throws -> [HostGroup] {
        let configuration = identity.configuration
        if let entry = items.first(where: { $0.hasPrefix("@") }) {
            guard items.count == 1 else {
                throw InputError(source: "command line", field: "--on", message: "\(entry) stands for delivery groups and cannot be mixed with hosts")
            }
            let request = String(entry.dropFirst())
            guard let groups = configuration.delivery.groups(for: request) else {
                throw InputError(
                    source: identity.home.deliveryConfig, field: request, message: "has no entry '\(request)' for --on \(entry)",
                    hint: YAMLMapping.suggestion(for: request, among: configuration.delivery.entries.keys.sorted()))
            }
            return try resolveSelectors(groups, source: identity.home.deliveryConfig, field: request)
        }
        let known = (Array(configuration.node.peers.keys) + [name]).sorted()
        var group: [String] = []
        var globbed = Set<String>()
        for item in items {
            if item.hasPrefix(HostGroup.tagPrefix) {
                group.append(item)
                continue
            }
            guard item.contains("*") || item.contains("?") else {
                group.append(item)
                continue
            }
            let matches = known.filter { TrustPolicy.glob(item, matches: $0) }
            guard !matches.isEmpty else {
                throw InputError(source: "command line", field: "--on", message: "'\(item)' matches no peer in \(identity.home.nodeConfig) and not this node")
            }
            for match in matches where globbed.insert(match).inserted && !items.contains(match) { group.append(match) }
        }
        return try resolveSelectors([HostGroup(group)], source: "command line", field: "--on")
    }

    /// The tags of `peer`: its `tags:` in node.yaml and those of the fleet certificate it
    /// presented.
    func tags(of peer: String) -> Set<String> {
        let identity = identity
        return Set(identity.configuration.node.peers[peer]?.tags ?? []).union(identity.certificates[peer]?.tags ?? [])
    }

    /// `groups` with every `tag:T` selector replaced by the peers tagged `T`, in name order,
    /// leaving out hosts the request names before (a host runs a request once). A selector
    /// that matches no peer is an error naming where it was written.
    func resolveSelectors(_ groups: [HostGroup], source: String, field: String) throws -> [HostGroup] {
        guard groups.allHosts.contains(where: { $0.hasPrefix(HostGroup.tagPrefix) }) else { return groups }
        let peers = identity.configuration.node.peers.keys.sorted().map { (name: $0, tags: tags(of: $0)) }
        let named = Set(groups.allHosts)
        var taken = Set<String>()
        return try groups.map { group in
            var resolved = group
            resolved.hosts = []
            for item in group.hosts {
                guard item.hasPrefix(HostGroup.tagPrefix) else {
                    if taken.insert(item).inserted { resolved.hosts.append(item) }
                    continue
                }
                let tag = String(item.dropFirst(HostGroup.tagPrefix.count))
                let matches = peers.filter { $0.tags.contains(tag) }.map(\.name)
                guard !matches.isEmpty else {
                    throw InputError(
                        source: source, field: field, message: "selector '\(item)' matches no peer",
                        hint: "give peers tags: [\(tag)] in \(identity.home.nodeConfig), or certificates with that tag")
                }
                // A host named outright elsewhere in the request keeps that place.
                for host in matches where !named.contains(host) && taken.insert(host).inserted { resolved.hosts.append(host) }
            }
            return resolved
        }.filter { !$0.hosts.isEmpty }
    }

    func makePlan(_ batch: Batch, timeout: Double?, expiresIn: Double?, now: Timestamp) throws -> BatchPlan {
        let configuration = identity.configuration
        let known = Set(configuration.node.peers.keys).union([name])
        let requests = try batch.requests.map { request -> PlannedRequest in
            if let groups = request.groups {
                var seen = Set<String>()
                for host in groups.allHosts {
                    guard known.contains(host) else {
                        throw InputError(source: "command line", message: "host '\(host)' is not this node or a peer in node.yaml")
                    }
                    guard seen.insert(host).inserted else {
                        throw InputError(source: "command line", field: request.name, message: "names host '\(host)' more than once", hint: "list each host once")
                    }
                }
                let groups = groups.filter { !$0.hosts.isEmpty }
                guard !groups.isEmpty else {
                    throw InputError(source: "batch", field: request.name, message: "names no hosts to run on")
                }
                return PlannedRequest(name: request.name, groups: groups)
            }
            guard let groups = configuration.delivery.groups(for: request.name) else {
                return PlannedRequest(
                    name: request.name, groups: [],
                    undeliverable: "\(name) has no entry '\(request.name)' in \(identity.home.deliveryConfig): add it there with its groups of hosts (cafe config check shows what is there)")
            }
            return PlannedRequest(name: request.name, groups: try resolveSelectors(groups, source: identity.home.deliveryConfig, field: request.name))
        }
        return BatchPlan(
            id: batch.id, origin: name, requests: requests, hostTimeout: timeout,
            expires: now.adding(seconds: expiresIn ?? configuration.node.settings.requestExpiry))
    }

    /// Moves a queued batch to running/ and starts its engine.
    func begin(_ batch: Batch, plan: BatchPlan) throws {
        let home = identity.home
        try FileSystem.move(home.batchFile(batch.id, in: .queue), to: home.batchFile(batch.id, in: .running))
        let journal = try BatchJournal(path: journalPath(batch.id))
        batches[batch.id] = RunningBatch(batch: batch, engine: BatchEngine(plan: plan), journal: journal)
        let now = clock.now()
        step(.batch(batch.id)) { $0.start(now: now) }
    }

    func journalPath(_ id: BatchID) -> String {
        identity.home.batches(.running) + "/" + id.rawValue + ".journal"
    }

    // MARK: - Results and acknowledgements

    /// A result from a host: verified by signature already; checked here to answer this
    /// node's batch, this request and the host that signed it; journaled, then acknowledged.
    func receiveResult(_ envelope: Envelope, _ body: ResultBody, _ verdict: ReplayWindow.Verdict) {
        let header = envelope.header
        let meta: Logger.Metadata = ["batch": "\(body.batch)", "request": "\(body.request)", "peer": "\(header.sender)"]
        // A result seen before is harmless: the engine ignores it for a host that is already
        // final, and it is acknowledged again so the host stops sending it.
        if refuseStale(header, verdict, meta) { return }
        if header.origin != name, body.result.host == header.sender {
            // A result from one of this node's hosts, for a request it fans out.
            guard let batch = BatchID(validating: body.batch), case let key = RequestKey(origin: header.origin, batch: batch, index: body.index),
                fanOuts[key] != nil
            else {
                logger.info("late result for a fan-out that has ended; acknowledged and ignored", metadata: meta)
                acknowledge(header, .duplicate)
                return
            }
            record(envelope, body, in: .fanOut(key), request: 0, meta)
            return
        }
        guard header.origin == name, body.result.host == header.sender, [.ok, .failed, .denied, .expired].contains(body.result.state),
            let id = BatchID(validating: body.batch)
        else {
            let reason = body.result.host != header.sender
                ? "a result signed by \(header.sender) that speaks for \(body.result.host); hosts sign only their own results"
                : "not a result for a batch of this node"
            logger.warning("refused result: \(reason)", metadata: meta)
            try? audit.record(
                allowed: false,
                fields: [("signer", header.sender), ("action", "result"), ("for-host", body.result.host), ("batch", body.batch)],
                reason: reason)
            acknowledge(header, .refused, code: body.result.host != header.sender ? .denied : .unknownRequest, reason: reason)
            return
        }
        if batches[id] == nil, case (.fanOut(let key), let index)? = delivery(origin: name, batch: id, position: body.index) {
            // The check of a group this node fans a request out to, asked in its own name.
            guard let engine = fanOuts[key]?.engine, index - 1 < engine.checks.count, engine.plan.name(of: index) == body.request else {
                acknowledge(header, .refused, code: .unknownRequest, reason: "no check \(body.request) at \(body.index) of batch \(id)")
                return
            }
            record(envelope, body, in: .fanOut(key), request: index, meta)
            return
        }
        guard let running = batches[id] else {
            logger.info("late or repeated result for a batch that has ended; acknowledged and ignored", metadata: meta)
            acknowledge(header, .duplicate)
            return
        }
        let plan = running.engine.plan
        guard body.index >= 0, body.index < plan.requests.count + running.engine.checks.count, plan.name(of: body.index) == body.request else {
            acknowledge(header, .refused, code: .unknownRequest, reason: "batch \(id) has no request \(body.request)[\(body.index)]")
            return
        }
        record(envelope, body, in: .batch(id), request: body.index, meta)
    }

    /// An acknowledgement: the envelope it names leaves the outbox; a request becomes running.
    func receiveAck(_ envelope: Envelope, _ body: AckBody, _ verdict: ReplayWindow.Verdict) {
        if case .refuse(let refusal) = verdict, refusal.kind != .replayed {
            logger.warning("refused acknowledgement: \(refusal)", metadata: ["peer": "\(envelope.header.sender)"])
            return
        }
        guard let entry = outbox.entries[body.acks], entry.target == envelope.header.sender else { return }
        if body.status == .refused && body.code == .busy {
            // Not taken now: it stays in the outbox and goes again with the outbox's backoff.
            logger.info("\(entry.target) is busy: \(body.reason ?? "no reason given"); sending again later", metadata: ["peer": "\(entry.target)"])
            return
        }
        do { try outbox.remove(body.acks, synced: false) } catch { logger.error("cannot remove an acknowledged envelope: \(error)") }
        if case .planRequest = entry.envelope.body {
            planAcknowledged(entry, body)
            return
        }
        if case .result(let result) = entry.envelope.body, let batch = BatchID(validating: result.batch) {
            do {
                try spool.markDelivered(RequestKey(origin: entry.envelope.header.origin, batch: batch, index: result.index))
            } catch {
                logger.error("cannot record a result as delivered: \(error)")
            }
            return
        }
        requestAcknowledged(entry, body)
    }

    // MARK: - The end of a batch

    /// Writes the executed batch file (signed) to done/ or error/, clears running/, tells followers.
    func finishBatch(_ id: BatchID) {
        guard let running = batches.removeValue(forKey: id) else { return }
        let engine = running.engine
        var batch = running.batch
        batch.state = engine.state
        batch.finished = clock.now()
        for index in batch.requests.indices {
            batch.requests[index].state = engine.requestStates[index]
            batch.requests[index].note = engine.undeliverableNote(index) ?? engine.notes[index]
            // The plan as it ran: `cafe verify` recomputes every state from it and the results.
            batch.requests[index].groups = engine.plan.requests[index].groups
            batch.requests[index].records = engine.plan.requests[index].groups.allHosts.compactMap { engine.slots[index][$0]?.record(for: $0) }
            batch.requests[index].checks = engine.checkRecords(of: index) { $0.index }
        }
        batch.cancelled = engine.cancelled
        let home = identity.home
        let folder: BatchFolder = batch.state == .done ? .done : .error
        let path = home.batchFile(id, in: folder)
        do {
            try FileSystem.writeAtomically(batch.signedExecutedYAML(key: identity.key, credentials: identity.credentials), to: path, mode: 0o644)
        } catch {
            // The plan and journal stay in running/: the next start finishes the batch again.
            logger.critical("cannot write the executed batch file \(path): \(error)", metadata: ["batch": "\(id)"])
            notify(id, .failed("the batch ended (\(batch.state.rawValue)) but \(path) could not be written: \(error); it is written when cafe-node starts again"))
            for (_, stream) in followers.removeValue(forKey: id) ?? [:] { stream.finish() }
            return
        }
        do {
            try FileSystem.remove(home.batchFile(id, in: .running))
            try FileSystem.remove(journalPath(id))
        } catch {
            logger.error("cannot clear running/ for \(id): \(error)", metadata: ["batch": "\(id)"])
        }
        for entry in outbox.entries.values {
            if case .request(let body) = entry.envelope.body, entry.envelope.header.origin == name, body.batch == id.rawValue,
                entry.lastSent == nil
            {
                _ = try? outbox.remove(entry.envelope.header.id)
            }
        }
        logger.info("batch \(batch.state.rawValue): \(path)", metadata: ["batch": "\(id)"])
        NodeMetrics.batchFinished(batch.state.rawValue)
        notify(id, .finished(state: batch.state, path: path))
        for (_, stream) in followers.removeValue(forKey: id) ?? [:] { stream.finish() }
    }

    // MARK: - Followers

    /// Events of batch `id` from now on, until it ends.
    public func follow(_ id: BatchID) -> AsyncStream<FollowEvent> {
        let (stream, continuation) = AsyncStream<FollowEvent>.makeStream(bufferingPolicy: .unbounded)
        nextFollower += 1
        let token = nextFollower
        followers[id, default: [:]][token] = continuation
        continuation.onTermination = { _ in Task { await self.unfollow(id, token) } }
        return stream
    }

    func unfollow(_ id: BatchID, _ token: Int) {
        followers[id]?[token] = nil
    }

    func notify(_ id: BatchID, _ event: FollowEvent) {
        for (_, continuation) in followers[id] ?? [:] { continuation.yield(event) }
    }

    /// Where batch `id` stands, for `cafe wait ID`: its events from now on while it runs, or
    /// its executed file once it has ended. Decided in one step, so a batch that ends at that
    /// moment is reported once, either way.
    public enum Following: Sendable {
        case running(AsyncStream<FollowEvent>)
        case ended(BatchState, path: String)
        case unknown
    }

    public func following(_ id: BatchID) -> Following {
        if batches[id] != nil { return .running(follow(id)) }
        guard let (folder, path) = identity.home.executedBatchFile(id) else { return .unknown }
        return .ended(folder == .done ? .done : .error, path: path)
    }

    // MARK: - Recovery

    /// Seconds a resumed batch's deadlines are held back after a restart.
    static let resumeGrace: Double = 10

    /// After a restart: batches in queue/ start, batches in running/ resume from their journal.
    func recoverBatches() throws {
        let home = identity.home
        for name in try FileSystem.list(home.batches(.running)) where name.hasSuffix(".journal") {
            let plan = home.batches(.running) + "/" + name.dropLast(".journal".count) + ".yaml"
            if !FileSystem.exists(plan) {
                let problem = try quarantine.take(home.batches(.running) + "/" + name, reason: "a journal without its batch plan (the batch had finished)")
                logger.warning("\(problem)")
            }
        }
        for folder in [BatchFolder.running, .queue] {
            for name in try FileSystem.list(home.batches(folder)) where name.hasSuffix(".yaml") {
                let path = home.batches(folder) + "/" + name
                guard let id = BatchID(validating: String(name.dropLast(5))) else {
                    let problem = try quarantine.take(path, reason: "not a batch file name")
                    logger.error("\(problem)")
                    continue
                }
                do {
                    let plan = try BatchPlan(yaml: try FileSystem.read(path, maxBytes: YAMLLimits.batchFile.maxBytes), source: path)
                    let originalPath = home.batchFile(id, in: .original)
                    let batch = try Batch(originalYAML: try FileSystem.read(originalPath, maxBytes: YAMLLimits.batchFile.maxBytes), source: originalPath)
                    if folder == .queue {
                        logger.info("starting queued batch", metadata: ["batch": "\(id)"])
                        try begin(batch, plan: plan)
                        continue
                    }
                    let records = try BatchJournal.read(journalPath(id), keys: identity.keys)
                    let engine = BatchEngine(plan: plan, replaying: records)
                    let journal = try BatchJournal(path: journalPath(id))
                    batches[id] = RunningBatch(batch: batch, engine: engine, journal: journal)
                    logger.info("resuming batch after a restart (\(records.count) journal records)", metadata: ["batch": "\(id)"])
                    if engine.state == .done || engine.state == .error {
                        finishBatch(id)
                        continue
                    }
                    // Deadlines that passed while the node was down wait a little longer, so that
                    // results the hosts kept for it can arrive first.
                    let then = clock.now().adding(seconds: -Self.resumeGrace)
                    resumedAt[id] = clock.now()
                    step(.batch(id)) { $0.recover(now: then) }
                } catch {
                    let current = FileSystem.exists(path) ? path : home.batchFile(id, in: .running)
                    guard FileSystem.exists(current) else {
                        logger.error("cannot resume batch \(id): \(error)")
                        continue
                    }
                    let problem = try quarantine.take(current, reason: "cannot resume: \(error)")
                    logger.error("\(problem)", metadata: ["batch": "\(id)"])
                    if FileSystem.exists(journalPath(id)) { _ = try quarantine.take(journalPath(id), reason: "journal of a quarantined batch") }
                }
            }
        }
    }
}
