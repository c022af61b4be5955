import CafeCore
import CafeCrypto
import CafeWire
import Logging

extension NodeCore {
    // MARK: - Submitting

    /// Accepts a batch: saves the original (secrets sealed to this node) and the plan, then
    /// starts it. The caller hears the id, or why the batch was refused, before anything ran.
    mutating func submit(_ order: SubmitOrder, _ token: ReplyToken) {
        do {
            guard !stopping else { throw EnvironmentError("cafe-node is stopping; try again when it is back", exitStatus: 3) }
            var batch = Batch(id: order.id, name: order.input.name, origin: name, created: now, requests: order.input.requests)
            if let hosts = order.options.hosts {
                let groups = try resolveHosts(hosts)
                for index in batch.requests.indices { batch.requests[index].groups = groups }
            }
            let plan = try makePlan(batch, timeout: order.options.timeout, expiresIn: order.input.expiresIn)
            if let collected = order.plan { try Self.apply(collected, to: &batch, plan: plan, source: "batch '\(batch.name)'") }
            let sealed = try identity.sealingSecrets(of: batch)
            write(.file(path: home.batchFile(batch.id, in: .original), bytes: try sealed.originalYAML(), mode: 0o600))
            log(.info, "accepted batch '\(batch.name)' with \(batch.requests.count) request(s)", ["batch": "\(batch.id)"])
            emit(.reply(token, .submitted(batch.id)))
            begin(sealed, plan: plan)
        } catch {
            emit(.reply(token, .failure(error)))
        }
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
                    source: home.deliveryConfig, field: request, message: "has no entry '\(request)' for --on \(entry)",
                    hint: YAMLMapping.suggestion(for: request, among: configuration.delivery.entries.keys.sorted()))
            }
            return try resolveSelectors(groups, source: home.deliveryConfig, field: request)
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
                throw InputError(source: "command line", field: "--on", message: "'\(item)' matches no peer in \(home.nodeConfig) and not this node")
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
                        hint: "give peers tags: [\(tag)] in \(home.nodeConfig), or certificates with that tag")
                }
                // A host named outright elsewhere in the request keeps that place.
                for host in matches where !named.contains(host) && taken.insert(host).inserted { resolved.hosts.append(host) }
            }
            return resolved
        }.filter { !$0.hosts.isEmpty }
    }

    func makePlan(_ batch: Batch, timeout: Double?, expiresIn: Double?) throws -> BatchPlan {
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
                    undeliverable: "\(name) has no entry '\(request.name)' in \(home.deliveryConfig): add it there with its groups of hosts (cafe config check shows what is there)")
            }
            return PlannedRequest(name: request.name, groups: try resolveSelectors(groups, source: home.deliveryConfig, field: request.name))
        }
        return BatchPlan(
            id: batch.id, origin: name, requests: requests, hostTimeout: timeout,
            expires: now.adding(seconds: expiresIn ?? configuration.node.settings.requestExpiry))
    }

    /// Starts batch `batch` under `plan`: the plan goes to `batches/running/`, then the engine
    /// starts. (A batch found in `batches/queue/` at start is begun the same way.)
    mutating func begin(_ batch: Batch, plan: BatchPlan) {
        write(.file(path: home.batchFile(batch.id, in: .running), bytes: plan.yaml, mode: 0o600))
        write(.remove([home.batchFile(batch.id, in: .queue)]))
        batches[batch.id] = RunningBatch(batch: batch, engine: BatchEngine(plan: plan))
        step(.batch(batch.id)) { [now] in $0.start(now: now) }
    }

    static func journalPath(_ delivery: Delivery, home: NodeHome) -> String {
        switch delivery {
        case .batch(let id): home.batches(.running) + "/" + id.rawValue + ".journal"
        case .fanOut(let key): fanOutPath(key, "journal", home: home)
        }
    }

    // MARK: - Results and acknowledgements

    /// A result from a host: verified by signature already; checked here to answer this
    /// node's batch, this request and the host that signed it; journaled, then acknowledged.
    mutating func receiveResult(_ envelope: Envelope, _ body: ResultBody, _ verdict: ReplayWindow.Verdict) {
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
                log(.info, "late result for a fan-out that has ended; acknowledged and ignored", meta)
                acknowledge(header, .duplicate)
                return
            }
            record(envelope, body, in: .fanOut(key), request: 0)
            return
        }
        guard header.origin == name, body.result.host == header.sender, [.ok, .failed, .denied, .expired].contains(body.result.state),
            let id = BatchID(validating: body.batch)
        else {
            let reason = body.result.host != header.sender
                ? "a result signed by \(header.sender) that speaks for \(body.result.host); hosts sign only their own results"
                : "not a result for a batch of this node"
            log(.warning, "refused result: \(reason)", meta)
            audit(
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
            record(envelope, body, in: .fanOut(key), request: index)
            return
        }
        guard let running = batches[id] else {
            log(.info, "late or repeated result for a batch that has ended; acknowledged and ignored", meta)
            acknowledge(header, .duplicate)
            return
        }
        let plan = running.engine.plan
        guard body.index >= 0, body.index < plan.requests.count + running.engine.checks.count, plan.name(of: body.index) == body.request else {
            acknowledge(header, .refused, code: .unknownRequest, reason: "batch \(id) has no request \(body.request)[\(body.index)]")
            return
        }
        record(envelope, body, in: .batch(id), request: body.index)
    }

    /// An acknowledgement: the envelope it names leaves the outbox; a request becomes running.
    mutating func receiveAck(_ envelope: Envelope, _ body: AckBody, _ verdict: ReplayWindow.Verdict) {
        if case .refuse(let refusal) = verdict, refusal.kind != .replayed {
            log(.warning, "refused acknowledgement: \(refusal)", ["peer": "\(envelope.header.sender)"])
            return
        }
        guard let entry = outbox.entries[body.acks], entry.target == envelope.header.sender else { return }
        if body.status == .refused && body.code == .busy {
            // Not taken now: it stays in the outbox and goes again with the outbox's backoff.
            log(.info, "\(entry.target) is busy: \(body.reason ?? "no reason given"); sending again later", ["peer": "\(entry.target)"])
            return
        }
        outbox.remove(body.acks)
        if entry.durable { write(.outboxRemove(id: body.acks, synced: false)) }
        if case .planRequest = entry.envelope.body {
            planAcknowledged(entry, body)
            return
        }
        if case .result(let result) = entry.envelope.body, let batch = BatchID(validating: result.batch) {
            let key = RequestKey(origin: entry.envelope.header.origin, batch: batch, index: result.index)
            if spool.markDelivered(key) { write(.spool(key, .delivered)) }
            return
        }
        requestAcknowledged(entry, body)
    }

    // MARK: - The end of a batch

    /// Writes the executed batch file (signed) to done/ or error/, clears running/, tells followers.
    mutating func finishBatch(_ id: BatchID) {
        guard let running = batches.removeValue(forKey: id) else { return }
        resumedAt[id] = nil
        let engine = running.engine
        var batch = running.batch
        batch.state = engine.state
        batch.finished = now
        for index in batch.requests.indices {
            batch.requests[index].state = engine.requestStates[index]
            batch.requests[index].note = engine.undeliverableNote(index) ?? engine.notes[index]
            // The plan as it ran: `cafe verify` recomputes every state from it and the results.
            batch.requests[index].groups = engine.plan.requests[index].groups
            batch.requests[index].records = engine.plan.requests[index].groups.allHosts.compactMap { engine.slots[index][$0]?.record(for: $0) }
            batch.requests[index].checks = engine.checkRecords(of: index) { $0.index }
        }
        batch.cancelled = engine.cancelled
        let folder: BatchFolder = batch.state == .done ? .done : .error
        let path = home.batchFile(id, in: folder)
        // If this cannot be written the node stops: the plan and journal stay in running/, and
        // the next start finishes the batch again. A file in the other folder, left by an
        // earlier end of this batch that could not be completed, goes first: a batch has
        // exactly one executed file.
        write(.remove([home.batchFile(id, in: folder == .done ? .error : .done)]))
        write(.file(path: path, bytes: batch.signedExecutedYAML(key: identity.key, credentials: identity.credentials), mode: 0o644))
        write(.remove([home.batchFile(id, in: .running), Self.journalPath(.batch(id), home: home)]))
        // Its requests never handed out leave the outbox: looked up by request and host, not
        // found by walking an outbox that may hold thousands of other batches' envelopes.
        for index in engine.slots.indices {
            for host in engine.slots[index].keys.sorted() {
                guard let entry = outbox.request(origin: name, batch: id.rawValue, index: index, host: host), entry.lastSent == nil else { continue }
                outbox.remove(entry.envelope.header.id)
                write(.outboxRemove(id: entry.envelope.header.id, synced: false))
            }
        }
        log(.info, "batch \(batch.state.rawValue): \(path)", ["batch": "\(id)"])
        emit(.metric(.batchFinished(batch.state.rawValue)))
        emit(.notify(id, .finished(state: batch.state, path: path)))
        emit(.endFollowers(id))
    }

    // MARK: - Recovery

    /// Seconds a resumed batch's deadlines are held back after a restart.
    static let resumeGrace: Double = 10

    /// After a restart: batches in queue/ start, batches in running/ resume from their journal.
    mutating func recoverBatches(_ loaded: [LoadedBatch]) {
        for item in loaded {
            let id = item.batch.id
            guard let records = item.journal else {
                log(.info, "starting queued batch", ["batch": "\(id)"])
                begin(item.batch, plan: item.plan)
                continue
            }
            let engine = BatchEngine(plan: item.plan, replaying: records)
            batches[id] = RunningBatch(batch: item.batch, engine: engine)
            log(.info, "resuming batch after a restart (\(records.count) journal records)", ["batch": "\(id)"])
            if engine.state == .done || engine.state == .error {
                finishBatch(id)
                continue
            }
            // Deadlines that passed while the node was down wait a little longer, so that
            // results the hosts kept for it can arrive first.
            let then = now.adding(seconds: -Self.resumeGrace)
            resumedAt[id] = now
            step(.batch(id)) { $0.recover(now: then) }
        }
    }
}
