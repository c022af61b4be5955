import CafeCore
import CafeCrypto
import CafeWire
import Logging

extension NodeCore {
    /// A plan request (`cafe batch plan` on its origin): checked as a request is (signature,
    /// freshness, target, replay, then trust.yaml for the origin and this request, audited),
    /// then answered with what this node would run, signed. Nothing is stored in the request
    /// spool, run or fanned out for it: only the answer goes in the outbox until the origin
    /// takes it.
    mutating func receivePlanRequest(_ envelope: Envelope, _ body: PlanRequestBody, _ verdict: ReplayWindow.Verdict) {
        let header = envelope.header
        let meta: Logger.Metadata = ["batch": "\(body.plan)", "request": "\(body.request)", "peer": "\(header.sender)"]
        // Seen before: answered then; that answer waits in the outbox until it is taken.
        guard admitFresh(header, verdict, meta) else { return }
        guard header.sender == header.origin else {
            let reason = "plan requests come from their origin (\(header.origin)), not through \(header.sender)"
            log(.warning, "refused plan request: \(reason)", meta)
            acknowledge(header, .refused, code: .malformed, reason: reason)
            return
        }
        guard !stopping else { return }
        guard outbox.answers(for: header.sender) < Self.maxWaitingAnswersPerPeer else {
            log(.warning, "refused plan request: \(Self.maxWaitingAnswersPerPeer) answers already wait for \(header.sender)", meta)
            acknowledge(header, .refused, code: .busy, reason: "\(name) has \(Self.maxWaitingAnswersPerPeer) answers waiting for \(header.sender); send again later")
            return
        }
        let answer = planAnswer(to: body, header, tags: envelope.signer?.tags ?? [], meta)
        let reply = Envelope.seal(
            header: makeHeader(.planAnswer, origin: header.origin, target: header.sender, expires: header.expires),
            body: .planAnswer(answer), key: identity.key, credentials: identity.credentials)
        enqueue([reply])
        remember(header)
        acknowledge(header, .accepted)
        log(.info, "plan answered: \(answer.state.rawValue)", meta)
        flushDue()
    }

    /// What this node answers: trust.yaml decides exactly as for the request itself (and the
    /// decision is audited), then the command map gives the entry, its digest and its commands.
    mutating func planAnswer(to body: PlanRequestBody, _ header: EnvelopeHeader, tags: [String], _ meta: Logger.Metadata) -> PlanAnswerBody {
        let action = commandMapAction(origin: header.origin, request: body.request)
        let decision = auditedDecision(
            signer: header.origin, tags: tags, action: action,
            fields: [("kind", "plan-request"), ("action", "\(action)"), ("batch", body.plan), ("index", String(body.index))])
        guard decision.allowed else {
            log(.warning, "plan denied: \(decision.reason)", meta)
            return PlanAnswerBody(
                answering: body, id: header.id, host: name, state: .denied,
                message: denial(decision, action: action, origin: header.origin, tags: tags).message)
        }
        if case .relay = action {
            return PlanAnswerBody(
                answering: body, id: header.id, host: name, state: .failed,
                message: "\(name) would fan '\(body.request)' out to the hosts of its own delivery.yaml entry; a plan covers only hosts that run a request themselves")
        }
        return PlanAnswerBody(answering: body, id: header.id, host: name, commandMap: identity.configuration.commands)
    }
}
