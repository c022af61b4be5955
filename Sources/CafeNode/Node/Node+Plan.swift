import CafeCore
import CafeCrypto
import CafeWire
import Logging

/// A plan the origin is collecting, and the `cafe batch plan` that waits for it.
struct PendingPlan {
    var collection: PlanCollection
    var waiter: CheckedContinuation<CollectedPlan, Never>?
}

extension Node {
    /// Seconds the hosts have to answer a plan when `cafe batch plan` gives no `--timeout`.
    public static let defaultPlanTimeout: Double = 30
    /// The longest `--timeout` of a plan: a day.
    public static let maxPlanTimeout: Double = 86_400

    // MARK: - Collecting (cafe batch plan)

    /// Resolves the batch's hosts as a run would (``makePlan(_:timeout:expiresIn:now:)``), asks
    /// each, in a signed plan request, what it would run, and returns what they answered once
    /// every host has, or after `timeout` seconds. A complete plan is first stored as
    /// `batches/plans/HASH.yaml` (written atomically). Nothing runs anywhere.
    public func collectPlan(_ input: BatchInput, timeout: Double, source: String) async throws -> CollectedPlan {
        guard !stopping else { throw EnvironmentError("cafe-node is stopping; try again when it is back", exitStatus: 3) }
        guard timeout > 0, timeout <= Self.maxPlanTimeout else {
            throw InputError(source: "command line", field: "--timeout", message: "must be more than 0 and at most \(Int(Self.maxPlanTimeout)) seconds")
        }
        let now = clock.now()
        let batch = Batch(id: BatchID(time: now, random: random), name: input.name, origin: name, created: now, requests: input.requests)
        let slots = try CollectedPlan.slots(of: batch, plan: try makePlan(batch, timeout: nil, expiresIn: nil, now: now), source: source)
        let id = batch.id
        var collection = PlanCollection(
            plan: CollectedPlan(id: id, name: batch.name, origin: name, created: now, hosts: slots),
            deadline: now.adding(seconds: timeout), timeout: timeout)
        for (line, slot) in slots.enumerated() {
            let data = batch.requests[slot.index].data
            let body = PlanRequestBody(
                plan: id.rawValue, batchName: batch.name, index: slot.index, request: slot.request, data: data.fields,
                secretKeys: data.secretKeys)
            let envelope = Envelope.seal(
                header: makeHeader(.planRequest, origin: name, target: slot.host, expires: collection.deadline),
                body: .planRequest(body), key: identity.key, credentials: identity.credentials)
            do {
                try outbox.add(envelope)
                collection.sent(line, query: envelope.header.id)
            } catch {
                collection.failed(line, note: "\(name) could not queue the plan request: \(error)")
            }
        }
        plans[id] = PendingPlan(collection: collection)
        logger.info("collecting a plan of '\(batch.name)' from \(slots.count) host(s)", metadata: ["batch": "\(id)"])
        flushDue()
        let plan = await withCheckedContinuation { waiter in
            plans[id]?.waiter = waiter
            updatePlan(id) { _ in }
        }
        if let hash = plan.hash {
            try FileSystem.makeDirectory(identity.home.plans)
            try FileSystem.writeAtomically(plan.yaml, to: planPath(hash))
            logger.info("plan \(hash) stored", metadata: ["batch": "\(id)"])
        }
        return plan
    }

    /// Applies `change` to plan `id`. Once every host has its final state and `cafe batch plan`
    /// waits, plan requests still in the outbox are withdrawn and the plan goes to the waiter.
    func updatePlan(_ id: BatchID, _ change: (inout PlanCollection) -> Void) {
        guard var pending = plans[id] else { return }
        change(&pending.collection)
        plans[id] = pending
        guard pending.collection.isFinished, let waiter = pending.waiter else { return }
        plans[id] = nil
        for query in pending.collection.queries.keys {
            do { try outbox.remove(query) } catch { logger.error("cannot withdraw plan request \(query): \(error)") }
        }
        waiter.resume(returning: pending.collection.plan)
    }

    /// A host's signed answer to a plan request: taken only if it answers a plan request this
    /// node sent to that host, for that request, and speaks for the signer alone.
    func receivePlanAnswer(_ envelope: Envelope, _ body: PlanAnswerBody, _ verdict: ReplayWindow.Verdict) {
        let header = envelope.header
        let meta: Logger.Metadata = ["batch": "\(body.plan)", "request": "\(body.request)", "peer": "\(header.sender)"]
        guard admitFresh(header, verdict, meta) else { return }
        guard header.origin == name, let id = BatchID(validating: body.plan) else {
            refusePlanAnswer(header, body, reason: "not an answer to a plan of this node", meta)
            return
        }
        guard plans[id] != nil else {
            logger.info("late answer to a plan that has ended; acknowledged and ignored", metadata: meta)
            acknowledge(header, .duplicate)
            return
        }
        var problem: String?
        updatePlan(id) { problem = $0.answered(body, sender: header.sender) }
        if let problem {
            refusePlanAnswer(header, body, reason: problem, meta)
            return
        }
        do {
            try remember(header)
        } catch {
            logger.error("cannot record the plan answer as seen: \(error)", metadata: meta)
        }
        acknowledge(header, .accepted)
    }

    func refusePlanAnswer(_ header: EnvelopeHeader, _ body: PlanAnswerBody, reason: String, _ meta: Logger.Metadata) {
        logger.warning("refused plan answer: \(reason)", metadata: meta)
        do {
            try audit.record(
                allowed: false, fields: [("signer", header.sender), ("action", "plan-answer"), ("for-host", body.host), ("plan", body.plan)],
                reason: reason)
        } catch {
            logger.error("\(error)", metadata: meta)
        }
        acknowledge(header, .refused, code: body.host == header.sender ? .unknownRequest : .denied, reason: reason)
    }

    /// A host acknowledged a plan request: a refusal (with its reason) fails that host's line.
    func planAcknowledged(_ entry: Outbox.Entry, _ body: AckBody) {
        guard body.status == .refused, case .planRequest(let query) = entry.envelope.body, let id = BatchID(validating: query.plan) else { return }
        updatePlan(id) { $0.refused(query: entry.envelope.header.id, reason: body.reason ?? body.code?.rawValue ?? "no reason given") }
    }

    // MARK: - Running under a plan (cafe batch run --plan)

    /// `batches/plans/HASH.yaml`
    func planPath(_ hash: String) -> String { identity.home.plans + "/" + hash + ".yaml" }

    /// Holds `batch` to the stored plan `hash` (64 hex digits, `sha256:` allowed): the plan must
    /// cover exactly the requests and hosts `plan` resolved, in order; each request then
    /// carries every host's planned digest in its signed request. Throws, before anything is
    /// saved or sent, for an unknown or damaged plan or one made for other requests or hosts.
    func applyPlan(_ hash: String, to batch: inout Batch, plan: BatchPlan, source: String) throws {
        let hex = hash.hasPrefix(SHA256Digest.prefix) ? String(hash.dropFirst(SHA256Digest.prefix.count)) : hash
        guard SHA256Digest.isHex(hex) else {
            throw InputError(source: "command line", field: "--plan", message: "'\(hash)' is not a plan hash", hint: "64 lower-case hex digits, the last line of cafe batch plan")
        }
        let path = planPath(hex)
        guard FileSystem.exists(path) else {
            throw InputError(
                source: "command line", field: "--plan", message: "no plan \(hex) in \(identity.home.plans)",
                hint: "cafe batch plan FILE collects one and prints its hash on the last line")
        }
        let collected = try CollectedPlan(yaml: try FileSystem.read(path, maxBytes: YAMLLimits.batchFile.maxBytes), hash: hex, source: path)
        try collected.check(covers: try CollectedPlan.slots(of: batch, plan: plan, source: source), source: source)
        for host in collected.hosts {
            var planned = batch.requests[host.index].planned ?? [:]
            planned[host.host] = host.commandDigest
            batch.requests[host.index].planned = planned
        }
    }
}
