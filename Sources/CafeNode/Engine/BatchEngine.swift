import CafeCore
import CafeWire

/// The pure decision logic of one batch at its origin: requests in order; for each, the groups
/// of hosts in order; the hosts of a group at the same time; the next group only when every host
/// of this one succeeded; a failed request stops the batch. It takes events and returns
/// ``BatchAction``s; the node carries them out (sending, journaling, telling followers).
///
/// Every change of state is returned as a ``BatchAction/record(_:)`` for the journal, and
/// ``init(plan:replaying:)`` rebuilds the same state from those records after a crash.
public struct BatchEngine: Sendable {
    public let plan: BatchPlan
    /// Per request: host → where it stands.
    public private(set) var slots: [[String: HostSlot]]
    public private(set) var requestStates: [RequestState]
    /// The request and group now running; nil before the start and after the end.
    public private(set) var cursor: (request: Int, group: Int)?
    /// When the current group started.
    public private(set) var groupStarted: Timestamp?
    public private(set) var state: BatchState

    public init(plan: BatchPlan) {
        self.plan = plan
        slots = plan.requests.map { request in
            Dictionary(uniqueKeysWithValues: request.groups.joined().map { ($0, HostSlot()) })
        }
        requestStates = Array(repeating: .pending, count: plan.requests.count)
        state = .queued
    }

    /// Rebuilds the state from journal records (nothing is sent while replaying).
    public init(plan: BatchPlan, replaying records: [JournalRecord]) {
        self.init(plan: plan)
        for record in records { apply(record) }
    }

    // MARK: - Events

    /// Starts the batch (first group of the first request).
    public mutating func start(now: Timestamp) -> [BatchAction] {
        guard state == .queued else { return [] }
        var actions: [BatchAction] = []
        emit(.started(now), into: &actions)
        advance(from: 0, group: 0, now: now, into: &actions)
        return actions
    }

    /// After a restart: sends again what was queued but never handed out, and checks deadlines.
    public mutating func resume(now: Timestamp) -> [BatchAction] {
        guard state == .running, let cursor else { return start(now: now) }
        var actions: [BatchAction] = []
        for host in plan.requests[cursor.request].groups[cursor.group] where slots[cursor.request][host]?.state == .queued {
            actions.append(.send(request: cursor.request, host: host))
        }
        return actions + tick(now: now)
    }

    /// The request envelope for (request, host) was written to the outbox and handed out.
    public mutating func dispatched(request: Int, host: String) -> [BatchAction] {
        guard isCurrent(request, host), slots[request][host]?.state == .queued else { return [] }
        var actions: [BatchAction] = []
        emit(.state(request: request, host: host, state: .sent, note: nil), into: &actions)
        return actions
    }

    /// The host acknowledged the request: it is stored there and will run.
    public mutating func acknowledged(request: Int, host: String) -> [BatchAction] {
        guard isCurrent(request, host), let slot = slots[request][host], slot.state == .queued || slot.state == .sent else {
            return []
        }
        var actions: [BatchAction] = []
        emit(.state(request: request, host: host, state: .running, note: nil), into: &actions)
        return actions
    }

    /// A verified result arrived. Late results (after the host was given up on) are ignored.
    public mutating func received(request: Int, host: String, result: HostResult, signed: String, now: Timestamp) -> [BatchAction] {
        guard isCurrent(request, host), let slot = slots[request][host], !slot.state.isFinal else { return [] }
        var actions: [BatchAction] = []
        emit(.result(request: request, host: host, signed: signed, result: result), into: &actions)
        completeGroupIfDone(now: now, into: &actions)
        return actions
    }

    /// The request for (request, host) could not be prepared or sent at all (this node's
    /// problem, explained in `note`): the host counts as failed.
    public mutating func failed(request: Int, host: String, note: String, now: Timestamp) -> [BatchAction] {
        guard isCurrent(request, host), let slot = slots[request][host], !slot.state.isFinal else { return [] }
        var actions: [BatchAction] = []
        emit(.state(request: request, host: host, state: .failed, note: note), into: &actions)
        completeGroupIfDone(now: now, into: &actions)
        return actions
    }

    /// The host refused the request: `expired` when its code says so (it arrived too late),
    /// `failed` for any other code, with the host's reason in the note.
    public mutating func refused(request: Int, host: String, code: AckBody.Code?, reason: String, now: Timestamp) -> [BatchAction] {
        guard isCurrent(request, host), let slot = slots[request][host], !slot.state.isFinal else { return [] }
        var actions: [BatchAction] = []
        let state: HostState = code == .expired ? .expired : .failed
        emit(.state(request: request, host: host, state: state, note: "refused by \(host): \(reason)"), into: &actions)
        completeGroupIfDone(now: now, into: &actions)
        return actions
    }

    /// Time passed: hosts of the current group that are past the deadline are given up on.
    public mutating func tick(now: Timestamp) -> [BatchAction] {
        guard state == .running, let cursor, let deadline = nextDeadline, now >= deadline else { return [] }
        var actions: [BatchAction] = []
        let expired = now >= plan.expires
        for host in plan.requests[cursor.request].groups[cursor.group] {
            guard let slot = slots[cursor.request][host], !slot.state.isFinal else { continue }
            let delivered = slot.state == .running
            if !delivered { actions.append(.withdraw(request: cursor.request, host: host)) }
            let (state, note): (HostState, String)
            // Each note names what sets the time: --timeout, or the batch file's expires-in: (else
            // request-expiry under settings: in node.yaml).
            if expired && !delivered {
                (state, note) = (.expired, "not delivered before the request expired at \(plan.expires) (expires-in: of the batch file, else request-expiry in node.yaml)")
            } else if let timeout = plan.groupTimeout, !expired {
                (state, note) = (.noAnswer, (delivered ? "no answer within \(Self.seconds(timeout)) s" : "not delivered within \(Self.seconds(timeout)) s") + " (--timeout)")
            } else {
                (state, note) = (.noAnswer, "no answer before the request expired at \(plan.expires) (expires-in: of the batch file, else request-expiry in node.yaml)")
            }
            emit(.state(request: cursor.request, host: host, state: state, note: note), into: &actions)
        }
        completeGroupIfDone(now: now, into: &actions)
        return actions
    }

    /// When the engine next needs a ``tick(now:)``.
    public var nextDeadline: Timestamp? {
        guard state == .running, cursor != nil, let started = groupStarted else { return nil }
        guard let timeout = plan.groupTimeout else { return plan.expires }
        return min(started.adding(seconds: timeout), plan.expires)
    }

    // MARK: - Progress

    private func isCurrent(_ request: Int, _ host: String) -> Bool {
        guard state == .running, let cursor, cursor.request == request else { return false }
        return plan.requests[request].groups[cursor.group].contains(host)
    }

    private mutating func completeGroupIfDone(now: Timestamp, into actions: inout [BatchAction]) {
        guard let cursor else { return }
        let hosts = plan.requests[cursor.request].groups[cursor.group]
        guard hosts.allSatisfy({ slots[cursor.request][$0]?.state.isFinal == true }) else { return }
        if hosts.allSatisfy({ slots[cursor.request][$0]?.state == .ok }) {
            if cursor.group + 1 < plan.requests[cursor.request].groups.count {
                advance(from: cursor.request, group: cursor.group + 1, now: now, into: &actions)
            } else {
                emit(.requestEnded(request: cursor.request, state: .ok), into: &actions)
                advance(from: cursor.request + 1, group: 0, now: now, into: &actions)
            }
        } else {
            fail(request: cursor.request, into: &actions)
        }
    }

    /// Starts group `group` of request `request`, or ends the batch when there is none.
    private mutating func advance(from request: Int, group: Int, now: Timestamp, into actions: inout [BatchAction]) {
        guard request < plan.requests.count else {
            emit(.ended(.done), into: &actions)
            return
        }
        if let reason = plan.requests[request].undeliverable {
            emit(.requestFailedUndeliverable(request: request, note: reason), into: &actions)
            fail(request: request, into: &actions)
            return
        }
        emit(.groupStarted(request: request, group: group, at: now), into: &actions)
        for host in plan.requests[request].groups[group] {
            actions.append(.send(request: request, host: host))
        }
    }

    /// Marks the rest of `request` and every later request skipped, and ends the batch in error.
    private mutating func fail(request: Int, into actions: inout [BatchAction]) {
        emit(.requestEnded(request: request, state: .failed), into: &actions)
        emit(.ended(.error), into: &actions)
    }

    // MARK: - Records

    private mutating func emit(_ record: JournalRecord, into actions: inout [BatchAction]) {
        apply(record)
        actions.append(.record(record))
        switch record {
        case .state(let request, let host, let state, let note):
            actions.append(.progress(request: request, host: host, state: state, note: note))
        case .result(let request, let host, _, let result):
            actions.append(.progress(request: request, host: host, state: result.state, note: result.message))
        case .requestFailedUndeliverable(let request, let note):
            // No host to name: the request itself failed, and the note says why.
            actions.append(.progress(request: request, host: "", state: .failed, note: note))
        case .ended(let state):
            actions.append(.finished(state))
        default:
            break
        }
    }

    /// The one place state changes, shared by live events and journal replay.
    private mutating func apply(_ record: JournalRecord) {
        switch record {
        case .started:
            state = .running
        case .groupStarted(let request, let group, let at):
            cursor = (request, group)
            groupStarted = at
            requestStates[request] = .running
        case .state(let request, let host, let state, let note):
            slots[request][host]?.state = state
            slots[request][host]?.note = note
        case .result(let request, let host, let signed, let result):
            slots[request][host]?.state = result.state
            slots[request][host]?.result = result
            slots[request][host]?.signed = signed
        case .requestFailedUndeliverable(let request, _):
            requestStates[request] = .failed
        case .requestEnded(let request, let state):
            requestStates[request] = state
            if state == .failed {
                for (index, _) in requestStates.enumerated() where index > request {
                    requestStates[index] = .skipped
                }
                for host in slots[request].keys where slots[request][host]?.state == .queued {
                    slots[request][host]?.state = .skipped
                }
                for later in (request + 1)..<max(request + 1, slots.count) {
                    for host in slots[later].keys { slots[later][host]?.state = .skipped }
                }
            }
        case .ended(let final):
            state = final
            cursor = nil
        }
    }

    /// A note for an undeliverable request, kept for the executed file.
    public func undeliverableNote(_ request: Int) -> String? { plan.requests[request].undeliverable }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : YAMLEmitter.formatSeconds(value)
    }
}

/// Where one (request, host) stands at the origin.
public struct HostSlot: Sendable, Hashable {
    public var state: HostState = .queued
    public var note: String?
    public var result: HostResult?
    /// The host's signed result envelope, exactly as received.
    public var signed: String?
}

/// What the node must do for the engine.
public enum BatchAction: Sendable, Equatable {
    /// Build, store and send the request envelope for (request, host).
    case send(request: Int, host: String)
    /// Take an undelivered request envelope for (request, host) out of the outbox.
    case withdraw(request: Int, host: String)
    /// Append to the batch's journal (before anything else is done about it).
    case record(JournalRecord)
    /// Tell whoever follows the batch.
    case progress(request: Int, host: String, state: HostState, note: String?)
    /// The batch ended; write the executed batch file.
    case finished(BatchState)
}

/// One line of a running batch's journal: every change of the engine's state, in order.
public enum JournalRecord: Sendable, Equatable {
    case started(Timestamp)
    case groupStarted(request: Int, group: Int, at: Timestamp)
    case state(request: Int, host: String, state: HostState, note: String?)
    case result(request: Int, host: String, signed: String, result: HostResult)
    case requestFailedUndeliverable(request: Int, note: String)
    case requestEnded(request: Int, state: RequestState)
    case ended(BatchState)
}
