import CafeCore
import CafeCrypto
import CafeWire
import Logging

/// A request this node fans out to its own hosts (hierarchical delivery): the request it
/// received, a ``BatchEngine`` over its own delivery map's groups for that request, and the
/// result of its own commands, if it has any.
struct FanOut: Sendable {
    var request: Envelope
    var engine: BatchEngine
    var own: HostResult?
    var ownDone: Bool
}

extension NodeCore {
    /// `spool/fanout/KEY.SUFFIX`: a fan-out's plan, journal and own part.
    static func fanOutPath(_ key: RequestKey, _ suffix: String, home: NodeHome) -> String { home.spool + "/fanout/" + key.stem + "." + suffix }

    func fanOutPath(_ key: RequestKey, _ suffix: String) -> String { Self.fanOutPath(key, suffix, home: home) }

    /// The files of a fan-out, removed once it has answered.
    static let fanOutSuffixes = ["plan.yaml", "journal", "own.yaml", "own-started"]

    /// The tags the origin's fleet certificate gives it (for `tag:T` grants in trust.yaml),
    /// taken from the origin's own signed request: `request` itself, or the first step of the
    /// chain a fanned-out request carries.
    mutating func originTags(_ key: RequestKey, _ request: Envelope, _ body: RequestBody) -> [String] {
        guard body.delegation != nil else { return request.signer?.tags ?? [] }
        return delegation(key)?.originTags ?? []
    }

    /// The delegation of the stored request `key`: checked when it arrived and kept with it, or
    /// checked now, once, for a request loaded from disk (nil when it no longer holds).
    mutating func delegation(_ key: RequestKey) -> Delegation? {
        guard let entry = spool.entries[key] else { return nil }
        if let known = entry.delegation { return known }
        guard case .request(let body) = entry.request.body, let checked = try? delegationChain(entry.request, body) else { return nil }
        spool.setDelegation(checked, for: key)
        return checked
    }

    /// The nodes a request passed through, origin first: `[origin]` for a request straight from
    /// its origin, `[origin, gateway, …]` for one fanned out. Each step's signed request must
    /// be addressed to the next signer and carry the same batch, position, name, data and
    /// commands; a node may appear once. Each step's signature is verified: call it once per
    /// request (``delegation(_:)`` keeps the answer).
    func delegationChain(_ envelope: Envelope, _ body: RequestBody) throws -> Delegation {
        var chain = [envelope.header.sender]
        var latestExpiry = envelope.header.expires
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
            latestExpiry = max(latestExpiry, parent.header.expires)
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
        return Delegation(chain: chain, originTags: current.signer?.tags ?? [], latestExpiry: latestExpiry)
    }

    struct DelegationError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    // MARK: - Starting

    /// Fans `request` out by this node's delivery map (groups and gating as at an origin) and
    /// runs this node's own command-map entry for it too, if any. Allowed only when the origin
    /// may use this node as a relay; loops are refused. The queue slot is freed when the own
    /// part has run (or at once when there is none).
    mutating func fanOut(_ key: RequestKey, _ request: Envelope, _ body: RequestBody, groups entry: [HostGroup]) {
        let header = request.header
        let meta = Self.meta(body, header.origin)
        func fail(_ core: inout NodeCore, _ result: HostResult) {
            core.finishRequest(key, result: result, answering: request)
            core.start(core.queue.finished())
        }
        let tags = originTags(key, request, body)
        let decision = auditedDecision(
            signer: header.origin, tags: tags, action: .relay,
            fields: [("action", "fan-out \(body.request)"), ("to", entry.allHosts.joined(separator: ",")), ("batch", body.batch)])
        guard decision.allowed else {
            log(.warning, "not fanning out: \(decision.reason)", meta)
            fail(&self, denial(decision, action: .relay, origin: header.origin, tags: tags))
            return
        }
        // A rerun of part of what lies below this node: only the hosts its paths name.
        var groups: [HostGroup]
        do {
            groups = try resolveSelectors(entry, source: home.deliveryConfig, field: body.request)
        } catch {
            fail(&self, HostResult(host: name, state: .failed, message: "\(name) cannot fan out: \(error)"))
            return
        }
        if let only = body.only {
            let named = Set(only.compactMap { $0.split(separator: "/").first.map(String.init) })
            groups = groups.keeping(named.contains)
            if groups.isEmpty {
                guard only.contains(".") else {
                    fail(&self, HostResult(
                        host: name, state: .failed,
                        message: "nothing below \(name) matches \(only.joined(separator: ", ")) in \(home.deliveryConfig); nothing ran"))
                    return
                }
                // Only this node's own commands are to run again.
                if let result = prepareRun(body, request, .request(key)) { fail(&self, result) }
                return
            }
        }
        let hosts = groups.allHosts
        let chain = delegation(key)?.chain ?? [header.origin]
        if let looping = hosts.first(where: { chain.contains($0) || $0 == name }) {
            fail(&self, HostResult(
                host: name, state: .failed,
                message: "delivery loop: \(name)'s delivery.yaml sends \(body.request) to \(looping), which it already passed (\((chain + [name]).joined(separator: " → ")))"))
            return
        }
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
        write(.makeDirectory(home.spool + "/fanout"))
        write(.file(path: fanOutPath(key, "plan.yaml"), bytes: plan.yaml, mode: 0o600))
        spool.markRunning(key)
        write(.spool(key, .running))
        fanOuts[key] = FanOut(request: request, engine: BatchEngine(plan: plan), own: nil, ownDone: false)
        log(.info, "fanning out to \(hosts.joined(separator: ", "))", meta)
        step(.fanOut(key)) { [now] in $0.start(now: now) }
        runOwnPart(key)
    }

    /// This node's own commands for a request it also fans out: ordered to run, or, when it
    /// has none (or they are not to run again), done at once and the queue slot freed.
    mutating func runOwnPart(_ key: RequestKey) {
        guard let fan = fanOuts[key], case .request(let body) = fan.request.body else {
            start(queue.finished())
            return
        }
        guard identity.configuration.commands.entry(for: body.request) != nil, body.only?.contains(".") ?? true else {
            fanOuts[key]?.ownDone = true
            completeFanOut(key)
            start(queue.finished())
            return
        }
        if let refused = prepareRun(body, fan.request, .ownPart(key)) {
            recordOwn(key, refused)
            start(queue.finished())
        }
    }

    mutating func recordOwn(_ key: RequestKey, _ result: HostResult) {
        guard fanOuts[key] != nil else { return }
        write(.file(path: fanOutPath(key, "own.yaml"), bytes: YAMLEmitter.bytes(result.yamlValue), mode: 0o600))
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
    mutating func completeFanOut(_ key: RequestKey) {
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
        write(.remove(Self.fanOutSuffixes.map { fanOutPath(key, $0) }))
    }

    // MARK: - Recovery

    /// After a restart: fan-outs resume from their journals; own commands that were running
    /// when the node stopped are reported interrupted, never run again. (The shell loaded only
    /// fan-outs whose request is in the spool and not answered.)
    mutating func recoverFanOuts(_ loaded: [LoadedFanOut]) {
        var ownToRun: [RequestKey] = []
        for item in loaded {
            guard let entry = spool.entries[item.key] else { continue }
            let key = item.key
            var fan = FanOut(request: entry.request, engine: BatchEngine(plan: item.plan, replaying: item.journal), own: nil, ownDone: false)
            if let own = item.own {
                fan.own = own
                fan.ownDone = true
            } else if item.ownStarted {
                fan.own = interrupted()
                fan.ownDone = true
            } else {
                ownToRun.append(key)
            }
            fanOuts[key] = fan
            log(.info, "resuming a fan-out after a restart (\(item.journal.count) journal records)", ["batch": "\(key.batch)"])
            if fan.engine.state != .done && fan.engine.state != .error {
                step(.fanOut(key)) { [now] in $0.recover(now: now) }
            }
            completeFanOut(key)
        }
        // Each own part takes a queue slot, as the request did before the restart.
        for key in ownToRun { start(queue.enqueue(key)) }
    }
}
