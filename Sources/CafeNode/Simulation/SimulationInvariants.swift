import CafeCore
import CafeWire

/// The invariants a simulation checks: after every step, for each run a node starts, and at
/// the end, for every batch an origin accepted.
extension SimulationRun {
    /// After a step of `name` whose writes all succeeded: each run it starts is its first of
    /// that request, of a request not expired, allowed by an audited trust decision of the
    /// same step, and (for a request of a batch with groups) of a group whose previous group
    /// succeeded.
    mutating func check(_ name: String, _ effects: [NodeEffect], core: NodeCore, now: Timestamp) {
        for case .run(let order) in effects {
            let key: RequestKey
            let request: Envelope?
            switch order.id {
            case .request(let k):
                key = k
                request = core.spool.entries[k]?.request
            case .ownPart(let k):
                key = k
                request = core.fanOuts[k]?.request
            }
            outcome.checks += 4
            let count = (started[name]?[order.id] ?? 0) + 1
            started[name, default: [:]][order.id] = count
            if count > 1 { violation("\(name) runs \(order.id) a second time") }
            guard let request else {
                violation("\(name) runs \(order.id) without the request in its spool")
                continue
            }
            if request.header.expires <= now {
                violation("\(name) runs \(order.id) after it expired at \(request.header.expires) (its clock says \(now))")
            }
            let allowed = effects.contains { effect in
                guard case .write(.audit(let line)) = effect, line.allowed else { return false }
                return line.fields.contains { $0 == ("batch", key.batch.rawValue) } && line.fields.contains { $0 == ("index", String(key.index)) }
            }
            if !allowed { violation("\(name) runs \(order.id) without an audited decision that allows it") }
            checkGroups(name, key)
        }
    }

    /// `host` starts request `key`: in the delivery that sent it (the origin's batch, or a
    /// gateway's fan-out), every group before the host's must have succeeded.
    mutating func checkGroups(_ host: String, _ key: RequestKey) {
        var engine: BatchEngine?
        var index = key.index
        if let batch = nodes[key.origin]?.core?.batches[key.batch], key.index < batch.engine.plan.requests.count,
            batch.engine.plan.requests[key.index].groups.allHosts.contains(host)
        {
            engine = batch.engine
        } else if let gateway = fleet.gateway, let fan = nodes[gateway]?.core?.fanOuts[key], fan.engine.plan.requests[0].groups.allHosts.contains(host) {
            engine = fan.engine
            index = 0
        }
        guard let engine else { return }
        let groups = engine.plan.requests[index].groups
        guard let position = groups.firstIndex(where: { $0.hosts.contains(host) }), position > 0 else { return }
        outcome.checks += 1
        let previous = groups[position - 1]
        var states: [String: HostState] = [:]
        for other in previous.hosts { states[other] = engine.slots[index][other]?.state }
        let unfinished = previous.hosts.filter { !(states[$0]?.isFinal ?? false) }
        if !unfinished.isEmpty {
            violation("\(host) starts group \(position + 1) of \(key) while \(unfinished.joined(separator: ", ")) of group \(position) have not ended")
        } else if case .failed = previous.outcome(states, checks: nil) {
            violation("\(host) starts group \(position + 1) of \(key) although group \(position) exceeded its failure budget")
        }
    }

    /// At the end: every accepted batch ended in exactly one executed file, which verifies, and
    /// whose records never call a host failed or no-answer against what it signed.
    mutating func finalChecks() {
        // An auditor's view: every node's key (an origin need not know the keys of the hosts
        // behind a gateway to run a batch, but whoever verifies its file must).
        let keys = KeyRing(keys: fleet.identities.mapValues(\.key.publicKey))
        let accepted = originals()
        outcome.batches = accepted.count
        for (id, origin) in accepted {
            guard let node = nodes[origin] else { continue }
            let home = node.identity.home
            let files = [BatchFolder.done, .error].compactMap { folder in node.disk.bytes(home.batchFile(id, in: folder)) }
            outcome.checks += 1
            guard files.count == 1, let bytes = files.first else {
                let running = nodes[origin]?.core?.batches[id].map { ": still running, " + Self.summary($0.engine) } ?? ""
                violation("batch \(id) of \(origin) ended in \(files.count) executed files, not 1\(running)")
                continue
            }
            outcome.ended += 1
            outcome.checks += 1
            do {
                let report = try BatchVerifier.verify(bytes, keys: keys, source: "batch \(id)")
                let batch = try Batch(executedYAML: bytes, source: "batch \(id)")
                if !report.passed {
                    violation(
                        "batch \(id) does not verify: " + report.verdicts.filter { !$0.passed }.map { "\($0.subject): \($0.detail)" }.joined(separator: "; ")
                            + " (" + Self.summary(batch) + ")")
                }
                for request in batch.requests {
                    for record in request.records {
                        outcome.checks += 1
                        switch record.state {
                        case .noAnswer where record.signedResult != nil, .expired where record.signedResult != nil:
                            violation("batch \(id): \(record.host) is \(record.state.rawValue) but its signed result is there")
                        case .failed where record.signedResult == nil && record.note == nil:
                            violation("batch \(id): \(record.host) is failed with neither its signed result nor a reason")
                        default:
                            break
                        }
                    }
                }
            } catch {
                violation("batch \(id): its executed file does not read: \(error)")
            }
        }
    }

    /// A batch's groups and host states in one line, for a violation's report.
    static func summary(_ batch: Batch) -> String {
        batch.requests.map { request in
            let states = Dictionary(request.records.map { ($0.host, $0.state.rawValue) }, uniquingKeysWith: { $1 })
            return "\(request.name) \(request.state.rawValue): " + (request.groups ?? []).map { group in
                "[" + group.hosts.map { "\($0) \(states[$0] ?? "-")" }.joined(separator: ", ") + (group.isPlain ? "" : " | \(group)") + "]"
            }.joined(separator: " ")
        }.joined(separator: "; ")
    }

    static func summary(_ engine: BatchEngine) -> String {
        engine.plan.requests.enumerated().map { index, request in
            "\(request.name) \(engine.requestStates[index].rawValue): " + request.groups.map { group in
                "[" + group.hosts.map { "\($0) \(engine.slots[index][$0]?.state.rawValue ?? "-")" }.joined(separator: ", ") + "]"
            }.joined(separator: " ")
        }.joined(separator: "; ") + (engine.paused ? " (paused)" : "")
    }
}
