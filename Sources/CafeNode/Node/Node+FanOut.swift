import CafeCore
import CafeCrypto
import CafeWire
import Logging

/// A request this node fans out to its own hosts (hierarchical delivery): the request it
/// received, a ``BatchEngine`` over its own delivery map's groups for that request, and the
/// result of its own commands, if it has any.
struct FanOut {
    var request: Envelope
    var engine: BatchEngine
    var journal: BatchJournal
    var own: HostResult?
    var ownDone: Bool
}

extension Node {
    var fanOutDirectory: String { identity.home.spool + "/fanout" }

    func fanOutPath(_ key: RequestKey, _ suffix: String) -> String { fanOutDirectory + "/" + key.stem + "." + suffix }

    /// The tags the origin's fleet certificate gives it (for `tag:T` grants in trust.yaml),
    /// taken from the origin's own signed request: `request` itself, or the first step of the
    /// chain a fanned-out request carries.
    func originTags(_ request: Envelope, _ body: RequestBody) -> [String] {
        guard body.delegation != nil else { return request.signer?.tags ?? [] }
        // Walking the chain verifies every step again: only when some grant is by tag.
        guard identity.configuration.trust.rules.keys.contains(where: { $0.hasPrefix(TrustConfig.tagPrefix) }) else { return [] }
        return (try? delegationChain(request, body))?.originTags ?? []
    }

    /// The nodes a request passed through, origin first: `[origin]` for a request straight from
    /// its origin, `[origin, gateway, …]` for one fanned out. Each step's signed request must
    /// be addressed to the next signer and carry the same batch, position, name, data and
    /// commands; a node may appear once.
    func delegationChain(_ envelope: Envelope, _ body: RequestBody) throws -> (chain: [String], originTags: [String]) {
        var chain = [envelope.header.sender]
        var current = envelope
        var currentBody = body
        while let text = currentBody.delegation {
            guard chain.count < ForwardBody.maxPath else {
                throw DelegationError("the request was fanned out through more than \(ForwardBody.maxPath) hosts")
            }
            let parent = try Envelope.open(Array(text.utf8), keys: identity.keys, source: "delegation from \(current.header.sender)")
            guard case .request(let parentBody) = parent.body, parent.header.target == current.header.sender,
                parent.header.origin == envelope.header.origin, parentBody.sameRequest(as: body),
                current.header.expires <= parent.header.expires
            else {
                throw DelegationError("the request \(current.header.sender) passed on does not match the one it received")
            }
            chain.insert(parent.header.sender, at: 0)
            current = parent
            currentBody = parentBody
        }
        guard current.header.sender == current.header.origin else {
            throw DelegationError("requests must be signed by their origin")
        }
        // An origin may deliver to itself; a fanned-out request must never come back to a node
        // it already passed.
        guard Set(chain).count == chain.count, chain.count == 1 || !chain.contains(name) else {
            throw DelegationError("delivery loop: the request already passed \(chain.joined(separator: " → "))")
        }
        return (chain, current.signer?.tags ?? [])
    }

    struct DelegationError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    // MARK: - Starting

    /// Fans `request` out by this node's delivery map (groups and gating as at an origin) and
    /// runs this node's own command-map entry for it too, if any. Allowed only when the origin
    /// may use this node as a relay; loops are refused.
    func fanOut(_ key: RequestKey, _ request: Envelope, _ body: RequestBody, groups entry: [HostGroup]) async {
        let header = request.header
        let meta: Logger.Metadata = ["batch": "\(body.batch)", "request": "\(body.request)", "peer": "\(header.origin)"]
        let tags = originTags(request, body)
        let decision = auditedDecision(
            signer: header.origin, tags: tags, action: .relay,
            fields: [("action", "fan-out \(body.request)"), ("to", entry.allHosts.joined(separator: ",")), ("batch", body.batch)], meta)
        guard decision.allowed else {
            logger.warning("not fanning out: \(decision.reason)", metadata: meta)
            finishRequest(key, result: denial(decision, action: .relay, origin: header.origin, tags: tags), answering: request)
            return
        }
        // A rerun of part of what lies below this node: only the hosts its paths name.
        var groups: [HostGroup]
        do {
            groups = try resolveSelectors(entry, source: identity.home.deliveryConfig, field: body.request)
        } catch {
            finishRequest(key, result: HostResult(host: name, state: .failed, message: "\(name) cannot fan out: \(error)"), answering: request)
            return
        }
        if let only = body.only {
            let named = Set(only.compactMap { $0.split(separator: "/").first.map(String.init) })
            groups = groups.keeping(named.contains)
            if groups.isEmpty {
                guard only.contains(".") else {
                    finishRequest(key, result: HostResult(
                        host: name, state: .failed,
                        message: "nothing below \(name) matches \(only.joined(separator: ", ")) in \(identity.home.deliveryConfig); nothing ran"),
                        answering: request)
                    return
                }
                // Only this node's own commands are to run again.
                let result = await runHere(body, request, meta) { try spool.markRunning(key) }
                finishRequest(key, result: result, answering: request)
                return
            }
        }
        let hosts = groups.allHosts
        let chain = (try? delegationChain(request, body))?.chain ?? [header.origin]
        if let looping = hosts.first(where: { chain.contains($0) || $0 == name }) {
            finishRequest(key, result: HostResult(
                host: name, state: .failed,
                message: "delivery loop: \(name)'s delivery.yaml sends \(body.request) to \(looping), which it already passed (\((chain + [name]).joined(separator: " → ")))"),
                answering: request)
            return
        }
        let now = clock.now()
        var timeout: Double?
        if let answerBy = body.answerBy {
            // Leave a fifth of the origin's remaining time for this node's own answer to travel,
            // and share the rest among the waves of hosts that run one after another (each group
            // in turn, `batch:` hosts of it at a time) and the pauses between groups.
            let waves = groups.reduce(0) { $0 + ($1.hosts.count + $1.window - 1) / $1.window }
            let pauses = groups.dropLast().reduce(0) { $0 + ($1.pause ?? 0) }
            timeout = max(1, (answerBy.seconds(since: now) * 0.8 - pauses) / Double(waves))
        }
        let plan = BatchPlan(
            id: key.batch, origin: header.origin, requests: [PlannedRequest(name: body.request, groups: groups)],
            hostTimeout: timeout, expires: header.expires)
        do {
            try FileSystem.makeDirectory(fanOutDirectory)
            try FileSystem.writeAtomically(plan.yaml, to: fanOutPath(key, "plan.yaml"))
            try spool.markRunning(key)
            let journal = try BatchJournal(path: fanOutPath(key, "journal"))
            fanOuts[key] = FanOut(request: request, engine: BatchEngine(plan: plan), journal: journal, own: nil, ownDone: false)
            logger.info("fanning out to \(hosts.joined(separator: ", "))", metadata: meta)
            step(.fanOut(key)) { $0.start(now: now) }
        } catch {
            logger.error("cannot start the fan-out: \(error)", metadata: meta)
            fanOuts[key] = nil
            for suffix in ["plan.yaml", "journal"] { try? FileSystem.remove(fanOutPath(key, suffix)) }
            finishRequest(key, result: HostResult(host: name, state: .failed, message: "\(name) could not start the fan-out: \(error)"), answering: request)
            return
        }
        await runOwnPart(key)
    }

    /// This node's own commands for a request it also fans out.
    func runOwnPart(_ key: RequestKey) async {
        guard let fan = fanOuts[key], case .request(let body) = fan.request.body else { return }
        let header = fan.request.header
        guard identity.configuration.commands.entry(for: body.request) != nil, body.only?.contains(".") ?? true else {
            fanOuts[key]?.ownDone = true
            completeFanOut(key)
            return
        }
        let meta: Logger.Metadata = ["batch": "\(body.batch)", "request": "\(body.request)", "peer": "\(header.origin)"]
        let path = fanOutPath(key, "own-started")
        recordOwn(key, await runHere(body, fan.request, meta) { try FileSystem.writeAtomically([], to: path) })
    }

    func recordOwn(_ key: RequestKey, _ result: HostResult) {
        do {
            try FileSystem.writeAtomically(YAMLEmitter.bytes(result.yamlValue), to: fanOutPath(key, "own.yaml"))
        } catch {
            logger.error("cannot store this node's own result: \(error)")
        }
        fanOuts[key]?.own = result
        fanOuts[key]?.ownDone = true
        completeFanOut(key)
    }

    /// The part of `only` for `host`: nil (everything) when `only` is nil or names `host`
    /// itself; otherwise the rest of each path through it.
    static func paths(below host: String, in only: [String]?) -> [String]? {
        guard let only else { return nil }
        var below: [String] = []
        for path in only {
            let parts = path.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.first == host else { continue }
            guard parts.count == 2 else { return nil }
            below.append(parts[1])
        }
        return below
    }

    // MARK: - Finishing

    /// Once every host below has ended and this node's own commands are done: one result with
    /// the leaves' signed results inside, `ok` only if the own part and every leaf are `ok`.
    func completeFanOut(_ key: RequestKey) {
        guard let fan = fanOuts[key], fan.ownDone, fan.engine.state == .done || fan.engine.state == .error else { return }
        let engine = fan.engine
        let leaves = engine.plan.requests[0].groups.allHosts.compactMap { engine.slots[0][$0]?.record(for: $0) }
        let ownState = fan.own?.state ?? .ok
        let failedLeaves = leaves.filter { $0.state != .ok }
        // The leaves succeed as a request does: every group within its failure budget.
        let state: HostState = ownState == .ok && engine.requestStates[0] == .ok ? .ok : (ownState == .denied ? .denied : .failed)
        var message = fan.own?.message
        if !failedLeaves.isEmpty || engine.notes[0] != nil {
            // What went wrong below: the leaves that did not succeed, and why the group stopped.
            let parts = [failedLeaves.isEmpty ? nil : failedLeaves.map { "\($0.host) \($0.state.rawValue)" }.joined(separator: ", "), engine.notes[0]]
            let summary = "below \(name): " + parts.compactMap { $0 }.joined(separator: "; ")
            message = message.map { $0 + "; " + summary } ?? summary
        }
        fanOuts[key] = nil
        finishRequest(
            key,
            result: HostResult(
                host: name, state: state, message: message, commands: fan.own?.commands ?? [], leaves: leaves,
                leafGroups: engine.plan.requests[0].groups.contains { !$0.isPlain } ? engine.plan.requests[0].groups : [],
                leafChecks: engine.checkRecords(of: 0) { ForwardedCheck.position(of: key.index, check: $0.index - 1) }),
            answering: fan.request)
        for suffix in ["plan.yaml", "journal", "own.yaml", "own-started"] { try? FileSystem.remove(fanOutPath(key, suffix)) }
    }

    // MARK: - Recovery

    /// After a restart: fan-outs resume from their journals; own commands that were running
    /// when the node stopped are reported interrupted, never run again.
    func recoverFanOuts() throws {
        guard FileSystem.isDirectory(fanOutDirectory) else { return }
        let byStem = Dictionary(uniqueKeysWithValues: spool.entries.map { ($0.key.stem, $0) })
        var ownToRun: [RequestKey] = []
        for file in try FileSystem.list(fanOutDirectory) where file.hasSuffix(".plan.yaml") {
            let stem = String(file.dropLast(".plan.yaml".count))
            let path = fanOutDirectory + "/" + file
            if let (_, entry) = byStem[stem], case .finished = entry.stage {
                // Answered already (the fan-out ended, or could not start): only files are left.
                for suffix in ["plan.yaml", "journal", "own.yaml", "own-started"] { try? FileSystem.remove(fanOutDirectory + "/" + stem + "." + suffix) }
                continue
            }
            guard let (key, entry) = byStem[stem] else {
                let problem = try quarantine.take(path, reason: "a fan-out plan without its request in the spool")
                logger.error("\(problem)")
                continue
            }
            do {
                let plan = try BatchPlan(yaml: try FileSystem.read(path, maxBytes: YAMLLimits.batchFile.maxBytes), source: path)
                let records = try BatchJournal.read(fanOutPath(key, "journal"), keys: identity.keys)
                var fan = FanOut(
                    request: entry.request, engine: BatchEngine(plan: plan, replaying: records),
                    journal: try BatchJournal(path: fanOutPath(key, "journal")), own: nil, ownDone: false)
                let ownPath = fanOutPath(key, "own.yaml")
                if FileSystem.exists(ownPath) {
                    let mapping = try YAMLReader.document(try FileSystem.read(ownPath, maxBytes: EnvelopeLimits.maxBytes), limits: .executedBatchFile, source: ownPath).mapping()
                    fan.own = try HostResult(mapping)
                    fan.ownDone = true
                } else if FileSystem.exists(fanOutPath(key, "own-started")) {
                    fan.own = interrupted()
                    fan.ownDone = true
                } else {
                    ownToRun.append(key)
                }
                fanOuts[key] = fan
                logger.info("resuming a fan-out after a restart (\(records.count) journal records)", metadata: ["batch": "\(key.batch)"])
                if fan.engine.state != .done && fan.engine.state != .error {
                    let now = clock.now()
                    step(.fanOut(key)) { $0.recover(now: now) }
                }
                completeFanOut(key)
            } catch {
                let problem = try quarantine.take(path, reason: "cannot resume the fan-out: \(error)")
                logger.error("\(problem)")
            }
        }
        for key in ownToRun { Task { await self.runOwnPart(key) } }
    }
}
