import CafeCore
import CafeWire

/// The pure decision logic of one batch at its origin (or of one request a forwarding host fans
/// out): requests in order; for each, its groups of hosts in order (``HostGroup``). A group
/// admits its hosts `batch:` at a time (all at once by default), sliding: a host that ends
/// makes room for the next. It succeeds when no more than `max-failures:` of its hosts fail
/// (failed, no-answer, expired and denied alike) and its `check:` passes on every host that
/// succeeded; the next group starts after its `pause:`. A group over its budget admits no more
/// hosts, and the request fails once those running have ended; a failed request stops the batch.
/// An operator may pause (no host starts; running ones finish), resume and cancel the batch.
///
/// It takes events and returns ``BatchAction``s; the node carries them out. Every change of
/// state is returned as a ``BatchAction/record(_:)`` for the journal, and
/// ``init(plan:replaying:)`` rebuilds the same state from those records after a crash.
public struct BatchEngine: Sendable {
    public let plan: BatchPlan
    /// The plan's health checks: engine request `plan.requests.count + k` is `checks[k]`.
    public let checks: [PlannedCheck]
    /// Per engine request (the batch's requests, then the checks): host → where it stands.
    public private(set) var slots: [[String: HostSlot]]
    public private(set) var requestStates: [RequestState]
    /// Why each request that failed stopped (a group over its budget, a failed check, a cancel).
    public private(set) var notes: [String?]
    /// The request and group now running; nil before the start and after the end.
    public private(set) var cursor: (request: Int, group: Int)?
    /// Where the current group stands.
    public private(set) var phase: GroupPhase = .hosts
    /// Paused by the operator: no host starts and no group begins until resumed.
    public private(set) var paused = false
    /// When the operator cancelled the batch.
    public private(set) var cancelled: Timestamp?
    public private(set) var state: BatchState
    /// Counts over the hosts the current phase waits on, kept as their slots change.
    private var tally = Tally()

    public init(plan: BatchPlan) {
        self.plan = plan
        checks = plan.checks
        slots = plan.requests.map { request in
            Dictionary(uniqueKeysWithValues: request.groups.enumerated().flatMap { index, group in group.hosts.map { ($0, HostSlot(group: index)) } })
        } + checks.map { _ in [:] }
        requestStates = Array(repeating: .pending, count: plan.requests.count)
        notes = Array(repeating: nil, count: plan.requests.count)
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

    /// After a restart: sends again what was admitted but never handed out, and goes on as
    /// time and the journal say.
    public mutating func recover(now: Timestamp) -> [BatchAction] {
        guard state == .running, let index = currentIndex else { return start(now: now) }
        var actions: [BatchAction] = []
        for (host, slot) in slots[index].sorted(by: { $0.key < $1.key }) where slot.admitted != nil && slot.state == .queued {
            actions.append(.send(request: index, host: host))
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
        settle(now: now, into: &actions)
        return actions
    }

    /// The request for (request, host) could not be prepared or sent at all (this node's
    /// problem, explained in `note`): the host counts as failed.
    public mutating func failed(request: Int, host: String, note: String, now: Timestamp) -> [BatchAction] {
        guard isCurrent(request, host), let slot = slots[request][host], !slot.state.isFinal else { return [] }
        var actions: [BatchAction] = []
        emit(.state(request: request, host: host, state: .failed, note: note), into: &actions)
        settle(now: now, into: &actions)
        return actions
    }

    /// The host refused the request: `expired` when its code says so (it arrived too late),
    /// `failed` for any other code, with the host's reason in the note.
    public mutating func refused(request: Int, host: String, code: AckBody.Code?, reason: String, now: Timestamp) -> [BatchAction] {
        guard isCurrent(request, host), let slot = slots[request][host], !slot.state.isFinal else { return [] }
        var actions: [BatchAction] = []
        let state: HostState = code == .expired ? .expired : .failed
        emit(.state(request: request, host: host, state: state, note: "refused by \(host): \(reason)"), into: &actions)
        settle(now: now, into: &actions)
        return actions
    }

    /// Time passed: hosts past their deadline are given up on, and a group's pause may end.
    public mutating func tick(now: Timestamp) -> [BatchAction] {
        guard state == .running, let index = currentIndex else { return [] }
        var actions: [BatchAction] = []
        let expired = now >= plan.expires
        for host in currentHosts {
            guard let slot = slots[index][host], !slot.state.isFinal else { continue }
            guard let admitted = slot.admitted else {
                if expired {
                    emit(.state(request: index, host: host, state: .expired, note: "not started before the request expired at \(plan.expires) (\(Self.expiryOrigin))"), into: &actions)
                }
                continue
            }
            let timedOut = plan.hostTimeout.map { now >= admitted.adding(seconds: $0) } ?? false
            guard expired || timedOut else { continue }
            let delivered = slot.state == .running
            if !delivered { actions.append(.withdraw(request: index, host: host)) }
            let (state, note): (HostState, String)
            // Each note names what sets the time: --timeout, or the batch file's expires-in: (else
            // request-expiry under settings: in node.yaml).
            if expired && !delivered {
                (state, note) = (.expired, "not delivered before the request expired at \(plan.expires) (\(Self.expiryOrigin))")
            } else if let timeout = plan.hostTimeout, !expired {
                (state, note) = (.noAnswer, (delivered ? "no answer within \(Self.seconds(timeout)) s" : "not delivered within \(Self.seconds(timeout)) s") + " (--timeout)")
            } else {
                (state, note) = (.noAnswer, "no answer before the request expired at \(plan.expires) (\(Self.expiryOrigin))")
            }
            emit(.state(request: index, host: host, state: state, note: note), into: &actions)
        }
        settle(now: now, into: &actions)
        return actions
    }

    /// When the engine next needs a ``tick(now:)``: the first host deadline, the end of a
    /// pause, or the requests' expiry.
    public var nextDeadline: Timestamp? {
        guard state == .running, let index = currentIndex else { return nil }
        var next = plan.expires
        if case .passed(let until) = phase, !paused { next = min(next, until) }
        if let timeout = plan.hostTimeout {
            for slot in slots[index].values where !slot.state.isFinal {
                if let admitted = slot.admitted { next = min(next, admitted.adding(seconds: timeout)) }
            }
        }
        return next
    }

    /// When `host` must have answered engine request `request`: its start plus the timeout
    /// (nil without a timeout, or before it starts).
    public func deadline(request: Int, host: String) -> Timestamp? {
        guard let timeout = plan.hostTimeout, let admitted = slots[request][host]?.admitted else { return nil }
        return min(admitted.adding(seconds: timeout), plan.expires)
    }

    // MARK: - Operator control

    /// No host starts and no group begins from now on; hosts already started finish.
    public mutating func pause() -> [BatchAction] {
        guard state == .running, !paused, cancelled == nil else { return [] }
        var actions: [BatchAction] = []
        emit(.paused(true), into: &actions)
        return actions
    }

    /// Undoes ``pause()``: waiting hosts start, a group whose pause is over begins.
    public mutating func resume(now: Timestamp) -> [BatchAction] {
        guard state == .running, paused else { return [] }
        var actions: [BatchAction] = []
        emit(.paused(false), into: &actions)
        settle(now: now, into: &actions)
        return actions
    }

    /// Starts no more hosts: those not started are skipped, undelivered requests withdrawn;
    /// once the hosts already running have answered (or timed out), the batch ends in error.
    public mutating func cancel(now: Timestamp) -> [BatchAction] {
        guard state == .running, cancelled == nil, let index = currentIndex else { return [] }
        var actions: [BatchAction] = []
        emit(.cancelled(now), into: &actions)
        for (host, slot) in slots[index].sorted(by: { $0.key < $1.key }) where slot.admitted != nil && (slot.state == .queued || slot.state == .sent) {
            actions.append(.withdraw(request: index, host: host))
            emit(.state(request: index, host: host, state: .skipped, note: "cancelled before it was delivered"), into: &actions)
        }
        settle(now: now, into: &actions)
        return actions
    }

    // MARK: - Progress

    /// The engine request whose hosts are current: the request, or its group's check.
    private var currentIndex: Int? {
        guard let cursor else { return nil }
        if case .checking(let index) = phase { return index }
        return cursor.request
    }

    /// The hosts of the current group, or of its check, in order.
    private var currentHosts: [String] {
        guard let cursor else { return [] }
        if case .checking(let index) = phase { return slots[index].keys.sorted() }
        return plan.requests[cursor.request].groups[cursor.group].hosts
    }

    private func isCurrent(_ request: Int, _ host: String) -> Bool {
        guard state == .running, request == currentIndex else { return false }
        return slots[request][host]?.admitted != nil
    }

    /// After any change: admits hosts the window has room for, and decides the group once its
    /// hosts (or its check) have ended.
    private mutating func settle(now: Timestamp, into actions: inout [BatchAction]) {
        guard state == .running, let cursor else { return }
        let group = plan.requests[cursor.request].groups[cursor.group]
        switch phase {
        case .hosts:
            // The tally, not a walk over the group: this runs after every host's result.
            if tally.failed > group.tolerated || cancelled != nil {
                // Hosts not started never will be.
                if tally.waiting > 0 {
                    let note = cancelled != nil ? "not started: the batch was cancelled" : "not started: " + budgetNote(group, failures(of: group))
                    for host in group.hosts where slots[cursor.request][host]?.admitted == nil && slots[cursor.request][host]?.state.isFinal == false {
                        emit(.state(request: cursor.request, host: host, state: .skipped, note: note), into: &actions)
                    }
                }
            } else {
                admit(group, now: now, into: &actions)
            }
            // Decided once every host has ended (paused, some wait to start until resumed).
            guard tally.final == tally.total else { return }
            if cancelled != nil {
                fail(request: cursor.request, note: "cancelled by the operator", into: &actions)
                return
            }
            var final: [String: HostState] = [:]
            for host in group.hosts { final[host] = slots[cursor.request][host]?.state }
            switch group.outcome(final, checks: nil) {
            case .failed:
                fail(request: cursor.request, note: "group \(cursor.group + 1) " + budgetNote(group, failures(of: group)), into: &actions)
            case .checkPending:
                startCheck(now: now, into: &actions)
            case .passed, .checkFailed:
                pass(now: now, into: &actions)
            }
        case .checking(let index):
            guard tally.final == tally.total else { return }
            if cancelled != nil {
                fail(request: cursor.request, note: "cancelled by the operator", into: &actions)
                return
            }
            let failed = slots[index].filter { $0.value.state != .ok }.map(\.key).sorted()
            guard failed.isEmpty else {
                let detail = failed.map { "\($0) \(slots[index][$0]?.state.rawValue ?? "?")" }.joined(separator: ", ")
                fail(request: cursor.request, note: "group \(cursor.group + 1): check \(checks[index - plan.requests.count].name) did not pass on \(detail)", into: &actions)
                return
            }
            pass(now: now, into: &actions)
        case .passed(let until):
            if cancelled != nil {
                fail(request: cursor.request, note: "cancelled by the operator", into: &actions)
            } else if now >= until && !paused {
                if cursor.group + 1 < plan.requests[cursor.request].groups.count {
                    advance(from: cursor.request, group: cursor.group + 1, now: now, into: &actions)
                } else {
                    emit(.requestEnded(request: cursor.request, state: .ok, note: nil), into: &actions)
                    advance(from: cursor.request + 1, group: 0, now: now, into: &actions)
                }
            }
        }
    }

    /// "exceeded its failure budget (2 of 10 hosts did not succeed, 1 tolerated: web3 failed, web7 no-answer)".
    /// A group without `max-failures:` "did not succeed (web3 failed)".
    private func budgetNote(_ group: HostGroup, _ failures: [String]) -> String {
        let detail = failures.map { "\($0) \(slots[cursor?.request ?? 0][$0]?.state.rawValue ?? "?")" }.joined(separator: ", ")
        guard group.maxFailures != nil else { return "did not succeed (\(detail))" }
        return "exceeded its failure budget (\(failures.count) of \(group.hosts.count) hosts did not succeed, \(group.tolerated) tolerated: \(detail))"
    }

    /// Starts the group's hosts that the window has room for, in the group's order.
    private mutating func admit(_ group: HostGroup, now: Timestamp, into actions: inout [BatchAction]) {
        guard !paused, cancelled == nil, let request = cursor?.request else { return }
        // Hosts before `nextToAdmit` were started or have ended: the walk goes on from there.
        while tally.running < group.window, tally.nextToAdmit < group.hosts.count {
            let host = group.hosts[tally.nextToAdmit]
            tally.nextToAdmit += 1
            guard let slot = slots[request][host], slot.admitted == nil, !slot.state.isFinal else { continue }
            emit(.admitted(request: request, host: host, at: now), into: &actions)
            actions.append(.send(request: request, host: host))
        }
    }

    /// The hosts of `group` that ended without success, in the group's order.
    private func failures(of group: HostGroup) -> [String] {
        guard let request = cursor?.request else { return [] }
        return group.hosts.filter { slots[request][$0]?.state.isFinal == true && slots[request][$0]?.state != .ok }
    }

    /// Runs the group's check on its hosts that succeeded (a pass when there is none).
    private mutating func startCheck(now: Timestamp, into actions: inout [BatchAction]) {
        guard let cursor, let check = checks.first(where: { $0.request == cursor.request && $0.group == cursor.group }) else { return }
        emit(.checkStarted(request: cursor.request, group: cursor.group, at: now), into: &actions)
        for host in slots[check.index].keys.sorted() { actions.append(.send(request: check.index, host: host)) }
        settle(now: now, into: &actions)
    }

    /// The group succeeded: the next begins after its pause (at once without one).
    private mutating func pass(now: Timestamp, into actions: inout [BatchAction]) {
        guard let cursor else { return }
        emit(.groupPassed(request: cursor.request, group: cursor.group, at: now), into: &actions)
        settle(now: now, into: &actions)
    }

    /// Starts group `group` of request `request`, or ends the batch when there is none.
    private mutating func advance(from request: Int, group: Int, now: Timestamp, into actions: inout [BatchAction]) {
        guard request < plan.requests.count else {
            emit(.ended(.done), into: &actions)
            return
        }
        if let reason = plan.requests[request].undeliverable {
            emit(.requestFailedUndeliverable(request: request, note: reason), into: &actions)
            fail(request: request, note: nil, into: &actions)
            return
        }
        emit(.groupStarted(request: request, group: group, at: now), into: &actions)
        let hostGroup = plan.requests[request].groups[group]
        for host in hostGroup.hosts.prefix(hostGroup.window) { actions.append(.send(request: request, host: host)) }
    }

    /// Marks the rest of `request` and every later request skipped, and ends the batch in error.
    private mutating func fail(request: Int, note: String?, into actions: inout [BatchAction]) {
        emit(.requestEnded(request: request, state: .failed, note: note), into: &actions)
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
        case .requestEnded(let request, .failed, let note?):
            actions.append(.progress(request: request, host: "", state: .failed, note: note))
        case .groupStarted(let request, let group, _):
            let hostGroup = plan.requests[request].groups[group]
            var note = "\(groupLabel(request, group)): \(hostGroup.hosts.count) host(s)"
            if hostGroup.window < hostGroup.hosts.count { note += ", \(hostGroup.window) at a time" }
            if hostGroup.tolerated > 0 { note += ", up to \(hostGroup.tolerated) may fail" }
            actions.append(.stage(request: request, note: note))
        case .checkStarted(let request, let group, _):
            let check = checks.first { $0.request == request && $0.group == group }
            actions.append(.stage(request: request, note: "\(groupLabel(request, group)): check \(check?.name ?? "?") on \(check.map { slots[$0.index].count } ?? 0) host(s)"))
        case .groupPassed(let request, let group, _):
            let pause = plan.requests[request].groups[group].pause ?? 0
            actions.append(.stage(request: request, note: "\(groupLabel(request, group)) passed" + (pause > 0 ? "; the next group starts in \(Self.seconds(pause)) s" : "")))
        case .paused(let paused):
            actions.append(.stage(request: cursor?.request ?? 0, note: paused ? "paused by the operator: no host starts until resumed" : "resumed by the operator"))
        case .cancelled:
            actions.append(.stage(request: cursor?.request ?? 0, note: "cancelled by the operator: no host starts; ending once running hosts have answered"))
        case .ended(let state):
            actions.append(.finished(state))
        default:
            break
        }
    }

    /// "group 2/4".
    private func groupLabel(_ request: Int, _ group: Int) -> String { "group \(group + 1)/\(plan.requests[request].groups.count)" }

    /// The one place state changes, shared by live events and journal replay.
    private mutating func apply(_ record: JournalRecord) {
        switch record {
        case .started:
            state = .running
        case .groupStarted(let request, let group, let at):
            cursor = (request, group)
            phase = .hosts
            requestStates[request] = .running
            let hostGroup = plan.requests[request].groups[group]
            for host in hostGroup.hosts.prefix(hostGroup.window) { slots[request][host]?.admitted = at }
            tally = groupTally(request, group)
        case .admitted(let request, let host, let at):
            change(request, host) { $0.admitted = at }
        case .state(let request, let host, let state, let note):
            change(request, host) {
                $0.state = state
                $0.note = note
            }
        case .result(let request, let host, let signed, let result):
            change(request, host) {
                $0.state = result.state
                $0.result = result
                $0.signed = signed
            }
        case .checkStarted(let request, let group, let at):
            guard let check = checks.first(where: { $0.request == request && $0.group == group }) else { return }
            phase = .checking(index: check.index)
            for host in plan.requests[request].groups[group].hosts where slots[request][host]?.state == .ok {
                slots[check.index][host] = HostSlot(admitted: at)
            }
            tally = Tally(request: check.index, group: nil, counting: slots[check.index].values)
        case .groupPassed(let request, let group, let at):
            phase = .passed(until: at.adding(seconds: plan.requests[request].groups[group].pause ?? 0))
        case .paused(let value):
            paused = value
        case .cancelled(let at):
            cancelled = at
        case .requestFailedUndeliverable(let request, _):
            requestStates[request] = .failed
        case .requestEnded(let request, let state, let note):
            requestStates[request] = state
            notes[request] = note
            if state == .failed {
                for (index, _) in requestStates.enumerated() where index > request {
                    requestStates[index] = .skipped
                }
                for host in slots[request].keys where slots[request][host]?.state == .queued {
                    slots[request][host]?.state = .skipped
                }
                for later in (request + 1)..<max(request + 1, plan.requests.count) {
                    for host in slots[later].keys { slots[later][host]?.state = .skipped }
                }
                if tally.request == request, let group = tally.group { tally = groupTally(request, group) }
            }
        case .ended(let final):
            state = final
            cursor = nil
        }
    }

    /// Changes the slot of `host` in engine request `request` (if it has one), keeping the
    /// tally when the host is one it counts.
    private mutating func change(_ request: Int, _ host: String, _ body: (inout HostSlot) -> Void) {
        guard let slot = slots[request][host] else { return }
        let counted = tally.counts(request, slot)
        if counted { tally.count(slot, -1) }
        body(&slots[request][host]!)
        if counted { tally.count(slots[request][host]!, 1) }
    }

    /// The tally of group `group` of `request`, counted from its hosts' slots.
    private func groupTally(_ request: Int, _ group: Int) -> Tally {
        Tally(request: request, group: group, counting: plan.requests[request].groups[group].hosts.compactMap { slots[request][$0] })
    }

    /// Where the hosts the current phase waits on stand (the current group's hosts, or those
    /// of its check), counted when the phase begins and kept by ``apply(_:)`` as their slots
    /// change. Settling after a result then costs the same for 5 hosts or 5,000; walking the
    /// group instead made a batch's settling grow with the square of its hosts.
    private struct Tally: Sendable {
        /// The engine request counted (-1: none yet), and of its hosts those of this group
        /// (nil: all, as for a check).
        var request = -1
        var group: Int?
        /// How many hosts are counted.
        var total = 0
        /// Not started and not ended.
        var waiting = 0
        /// Started and not ended.
        var running = 0
        var final = 0
        /// Ended without success.
        var failed = 0
        /// Hosts of the group before this position were started or have ended.
        var nextToAdmit = 0

        init() {}

        /// Counts `slots`: the hosts of the group (nil: of the check).
        init(request: Int, group: Int?, counting slots: some Sequence<HostSlot>) {
            self.request = request
            self.group = group
            for slot in slots {
                total += 1
                count(slot, 1)
            }
        }

        func counts(_ request: Int, _ slot: HostSlot) -> Bool {
            request == self.request && (group == nil || slot.group == group)
        }

        mutating func count(_ slot: HostSlot, _ sign: Int) {
            if slot.state.isFinal {
                final += sign
                if slot.state != .ok { failed += sign }
            } else if slot.admitted != nil {
                running += sign
            } else {
                waiting += sign
            }
        }
    }

    /// The checks of request `request` that ran, with each host's record; `position` is the
    /// index each travelled as (the engine's own at an origin).
    public func checkRecords(of request: Int, position: (PlannedCheck) -> Int) -> [GroupCheck] {
        checks.filter { $0.request == request && !slots[$0.index].isEmpty }.map { check in
            GroupCheck(
                group: check.group, request: check.name, index: position(check),
                records: slots[check.index].sorted { $0.key < $1.key }.map { $0.value.record(for: $0.key) })
        }
    }

    /// A note for an undeliverable request, kept for the executed file.
    public func undeliverableNote(_ request: Int) -> String? { plan.requests[request].undeliverable }

    static let expiryOrigin = "expires-in: of the batch file, else request-expiry in node.yaml"

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : YAMLEmitter.formatSeconds(value)
    }
}

/// Where the current group of a running batch stands.
public enum GroupPhase: Sendable, Hashable {
    /// Its hosts run, started as its window allows.
    case hosts
    /// Its check runs, as engine request `index`.
    case checking(index: Int)
    /// It succeeded; the next group begins at `until` (after its pause), unless paused.
    case passed(until: Timestamp)
}

/// Where one (request, host) stands at the origin.
public struct HostSlot: Sendable, Hashable {
    public var state: HostState = .queued
    public var note: String?
    public var result: HostResult?
    /// The host's signed result envelope, exactly as received.
    public var signed: String?
    /// When the host was started (its request handed out); nil while it waits for its group
    /// or for room in the group's window.
    public var admitted: Timestamp?
    /// Which group of its request the host is in (0 for the hosts of a check).
    public var group = 0

    /// The executed file's record of `host`.
    public func record(for host: String) -> HostRecord {
        HostRecord(host: host, state: state, note: note, result: result, signedResult: signed)
    }
}

/// What the node must do for the engine.
public enum BatchAction: Sendable, Equatable {
    /// Build, store and send the request envelope for (request, host).
    case send(request: Int, host: String)
    /// Take an undelivered request envelope for (request, host) out of the outbox.
    case withdraw(request: Int, host: String)
    /// Append to the batch's journal (before anything else is done about it).
    case record(JournalRecord)
    /// Tell whoever follows the batch (`host` is empty for the request as a whole).
    case progress(request: Int, host: String, state: HostState, note: String?)
    /// Tell whoever follows the batch where it stands as a whole (a group began or passed,
    /// a check started, the operator paused, resumed or cancelled).
    case stage(request: Int, note: String)
    /// The batch ended; write the executed batch file.
    case finished(BatchState)
}

/// One line of a running batch's journal: every change of the engine's state, in order.
public enum JournalRecord: Sendable, Equatable {
    case started(Timestamp)
    /// The group's first window of hosts started.
    case groupStarted(request: Int, group: Int, at: Timestamp)
    /// One more host of a windowed group started.
    case admitted(request: Int, host: String, at: Timestamp)
    case state(request: Int, host: String, state: HostState, note: String?)
    case result(request: Int, host: String, signed: String, result: HostResult)
    /// The group's check started on its hosts that succeeded.
    case checkStarted(request: Int, group: Int, at: Timestamp)
    /// The group succeeded; its pause runs from `at`.
    case groupPassed(request: Int, group: Int, at: Timestamp)
    case paused(Bool)
    case cancelled(Timestamp)
    case requestFailedUndeliverable(request: Int, note: String)
    case requestEnded(request: Int, state: RequestState, note: String?)
    case ended(BatchState)
}
