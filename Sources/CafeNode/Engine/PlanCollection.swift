import CafeCore
import CafeWire

/// The origin's pure state while it collects a plan: which plan request went to which host,
/// the answers and refusals so far, and the deadline after which silent hosts are `no-answer`.
struct PlanCollection: Sendable {
    private(set) var plan: CollectedPlan
    let deadline: Timestamp
    /// Seconds the hosts were given (`--timeout`), for the no-answer note.
    let timeout: Double
    /// Plan-request envelope id → the line of ``plan`` it asks for.
    private(set) var queries: [String: Int] = [:]

    init(plan: CollectedPlan, deadline: Timestamp, timeout: Double) {
        self.plan = plan
        self.deadline = deadline
        self.timeout = timeout
    }

    /// Every line has its final state.
    var isFinished: Bool { plan.hosts.allSatisfy(\.state.isFinal) }

    /// The plan request for `line` is in the outbox under envelope id `query`.
    mutating func sent(_ line: Int, query: String) {
        queries[query] = line
        plan.hosts[line].state = .sent
    }

    /// The plan request for `line` could not be made or queued (this node's problem).
    mutating func failed(_ line: Int, note: String) {
        plan.hosts[line].state = .failed
        plan.hosts[line].note = note
    }

    /// A verified answer signed by `sender`: taken if it answers a plan request of this plan
    /// that went to `sender`, for the same request, and speaks for `sender` only; otherwise the
    /// reason it is refused.
    mutating func answered(_ answer: PlanAnswerBody, sender: String) -> String? {
        guard let line = queries[answer.answers], plan.hosts[line].host == sender else {
            return "answers no plan request of this node sent to \(sender)"
        }
        let host = plan.hosts[line]
        guard answer.host == sender else { return "signed by \(sender) but speaks for \(answer.host); hosts answer only for themselves" }
        guard answer.plan == plan.id.rawValue, answer.index == host.index, answer.request == host.request else {
            return "answers \(answer.request)[\(answer.index)] of plan \(answer.plan), not \(host.request)[\(host.index)] of plan \(plan.id)"
        }
        guard !host.state.isFinal else { return nil }
        plan.hosts[line].state = answer.state
        plan.hosts[line].note = answer.message
        plan.hosts[line].commandDigest = answer.commandDigest
        plan.hosts[line].commands = answer.commands
        return nil
    }

    /// The host refused the plan request on arrival (an acknowledgement with a code): `failed`,
    /// with its reason, as a run shows a refused request.
    mutating func refused(query: String, reason: String) {
        guard let line = queries[query], !plan.hosts[line].state.isFinal else { return }
        failed(line, note: "refused by \(plan.hosts[line].host): \(reason)")
    }

    /// At or after the deadline, every host without an answer becomes `no-answer`; `because`
    /// replaces the usual note (the node is stopping, say).
    mutating func expire(now: Timestamp, because: String? = nil) {
        guard now >= deadline || because != nil else { return }
        for line in plan.hosts.indices where !plan.hosts[line].state.isFinal {
            plan.hosts[line].state = .noAnswer
            plan.hosts[line].note = because ?? "no answer within \(BatchEngine.seconds(timeout)) s (--timeout)"
        }
    }
}
