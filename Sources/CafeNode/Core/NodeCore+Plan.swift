import CafeCore
import CafeCrypto
import CafeWire
import Logging

/// A plan the origin is collecting, and the `cafe batch plan` that waits for it.
struct PendingPlan: Sendable {
    var collection: PlanCollection
    /// Who waits for it (`cafe batch plan`).
    var token: ReplyToken
}

extension NodeCore {
    /// Seconds the hosts have to answer a plan when `cafe batch plan` gives no `--timeout`.
    static let defaultPlanTimeout: Double = 30
    /// The longest `--timeout` of a plan: a day.
    static let maxPlanTimeout: Double = 86_400

    // MARK: - Collecting (cafe batch plan)

    /// Resolves the batch's hosts as a run would (``makePlan(_:timeout:expiresIn:)``), asks
    /// each, in a signed plan request, what it would run, and answers the caller with what they
    /// answered once every host has, or after the timeout. A complete plan is first stored
    /// (``planPath(_:home:)``). Nothing runs anywhere.
    mutating func collectPlan(_ order: PlanOrder, _ token: ReplyToken) {
        do {
            guard !stopping else { throw EnvironmentError("cafe-node is stopping; try again when it is back", exitStatus: 3) }
            guard order.timeout > 0, order.timeout <= Self.maxPlanTimeout else {
                throw InputError(source: "command line", field: "--timeout", message: "must be more than 0 and at most \(Int(Self.maxPlanTimeout)) seconds")
            }
            let batch = Batch(id: order.id, name: order.input.name, origin: name, created: now, requests: order.input.requests)
            let slots = try CollectedPlan.slots(of: batch, plan: try makePlan(batch, timeout: nil, expiresIn: nil), source: order.source)
            let id = batch.id
            var collection = PlanCollection(
                plan: CollectedPlan(id: id, name: batch.name, origin: name, created: now, hosts: slots),
                deadline: now.adding(seconds: order.timeout), timeout: order.timeout)
            var envelopes: [Envelope] = []
            for (line, slot) in slots.enumerated() {
                let data = batch.requests[slot.index].data
                let body = PlanRequestBody(
                    plan: id.rawValue, batchName: batch.name, index: slot.index, request: slot.request, data: data.fields,
                    secretKeys: data.secretKeys)
                let envelope = Envelope.seal(
                    header: makeHeader(.planRequest, origin: name, target: slot.host, expires: collection.deadline),
                    body: .planRequest(body), key: identity.key, credentials: identity.credentials)
                envelopes.append(envelope)
                collection.sent(line, query: envelope.header.id)
            }
            enqueue(envelopes)
            plans[id] = PendingPlan(collection: collection, token: token)
            log(.info, "collecting a plan of '\(batch.name)' from \(slots.count) host(s)", ["batch": "\(id)"])
            flushDue()
            updatePlan(id) { _ in }
        } catch {
            emit(.reply(token, .failure(error)))
        }
    }

    /// Applies `change` to plan `id`. Once every host has its final state, plan requests still
    /// in the outbox are withdrawn, a complete plan is stored, and the caller has its answer.
    mutating func updatePlan(_ id: BatchID, _ change: (inout PlanCollection) -> Void) {
        guard var pending = plans[id] else { return }
        change(&pending.collection)
        plans[id] = pending
        guard pending.collection.isFinished else { return }
        plans[id] = nil
        for query in pending.collection.queries.keys.sorted() where outbox.remove(query) != nil {
            write(.outboxRemove(id: query, synced: true))
        }
        let plan = pending.collection.plan
        if let hash = plan.hash {
            write(.makeDirectory(home.plans))
            write(.file(path: Self.planPath(hash, home: home), bytes: plan.yaml, mode: 0o600))
            log(.info, "plan \(hash) stored", ["batch": "\(id)"])
        }
        emit(.reply(pending.token, .plan(plan)))
    }

    /// A host's signed answer to a plan request: taken only if it answers a plan request this
    /// node sent to that host, for that request, and speaks for the signer alone.
    mutating func receivePlanAnswer(_ envelope: Envelope, _ body: PlanAnswerBody, _ verdict: ReplayWindow.Verdict) {
        let header = envelope.header
        let meta: Logger.Metadata = ["batch": "\(body.plan)", "request": "\(body.request)", "peer": "\(header.sender)"]
        guard admitFresh(header, verdict, meta) else { return }
        guard header.origin == name, let id = BatchID(validating: body.plan) else {
            refusePlanAnswer(header, body, reason: "not an answer to a plan of this node", meta)
            return
        }
        guard plans[id] != nil else {
            log(.info, "late answer to a plan that has ended; acknowledged and ignored", meta)
            acknowledge(header, .duplicate)
            return
        }
        var problem: String?
        updatePlan(id) { problem = $0.answered(body, sender: header.sender) }
        if let problem {
            refusePlanAnswer(header, body, reason: problem, meta)
            return
        }
        remember(header)
        acknowledge(header, .accepted)
    }

    mutating func refusePlanAnswer(_ header: EnvelopeHeader, _ body: PlanAnswerBody, reason: String, _ meta: Logger.Metadata) {
        log(.warning, "refused plan answer: \(reason)", meta)
        audit(
            allowed: false, fields: [("signer", header.sender), ("action", "plan-answer"), ("for-host", body.host), ("plan", body.plan)],
            reason: reason)
        acknowledge(header, .refused, code: body.host == header.sender ? .unknownRequest : .denied, reason: reason)
    }

    /// A host acknowledged a plan request: a refusal (with its reason) fails that host's line.
    mutating func planAcknowledged(_ entry: Outbox.Entry, _ body: AckBody) {
        guard body.status == .refused, case .planRequest(let query) = entry.envelope.body, let id = BatchID(validating: query.plan) else { return }
        updatePlan(id) { $0.refused(query: entry.envelope.header.id, reason: body.reason ?? body.code?.rawValue ?? "no reason given") }
    }

    // MARK: - Running under a plan (cafe batch run --plan)

    /// `batches/plans/HASH.yaml`
    static func planPath(_ hash: String, home: NodeHome) -> String { home.plans + "/" + hash + ".yaml" }

    /// Holds `batch` to the stored plan `collected`: the plan must cover exactly the requests
    /// and hosts `plan` resolved, in order; each request then carries every host's planned
    /// digest in its signed request. Throws, before anything is saved or sent, for a plan made
    /// for other requests or hosts.
    static func apply(_ collected: CollectedPlan, to batch: inout Batch, plan: BatchPlan, source: String) throws {
        try collected.check(covers: try CollectedPlan.slots(of: batch, plan: plan, source: source), source: source)
        for host in collected.hosts {
            var planned = batch.requests[host.index].planned ?? [:]
            planned[host.host] = host.commandDigest
            batch.requests[host.index].planned = planned
        }
    }
}
