import CafeCore
import CafeWire
@testable import CafeNode
import Testing

/// Staged rollouts in the pure engine: windows, failure budgets that count no-answer hosts,
/// pauses, health checks, the operator's pause, resume and cancel, and all of them rebuilt
/// from the journal after a crash.
@Suite("rollout engine (pure, injected time)")
struct RolloutEngineTests {
    let t0 = Timestamp(milliseconds: 1_795_966_212_000)
    let id = BatchID(validating: "20261202-153012-000-000000000001")!

    /// An engine that keeps every journal record it returns, as the node's journal does.
    struct Driven {
        var engine: BatchEngine
        var records: [JournalRecord] = []
        var sent: [String] = []

        init(_ plan: BatchPlan) { engine = BatchEngine(plan: plan) }

        mutating func keep(_ actions: [BatchAction]) {
            for action in actions {
                switch action {
                case .record(let record): records.append(record)
                case .send(let request, let host): sent.append("\(request):\(host)")
                default: break
                }
            }
        }

        /// Sends since the last call.
        mutating func take() -> [String] {
            defer { sent = [] }
            return sent
        }

        mutating func answer(_ request: Int, _ host: String, _ state: HostState, at now: Timestamp) {
            keep(engine.acknowledged(request: request, host: host))
            keep(engine.received(request: request, host: host, result: HostResult(host: host, state: state), signed: "signed", now: now))
        }

        /// The same engine rebuilt from the journal, as after a crash.
        var restored: BatchEngine { BatchEngine(plan: engine.plan, replaying: records) }
    }

    func plan(_ groups: [HostGroup], timeout: Double? = 30) -> BatchPlan {
        BatchPlan(id: id, origin: "jlore", requests: [PlannedRequest(name: "deploy", groups: groups)], hostTimeout: timeout, expires: t0.adding(seconds: 3600))
    }

    func hosts(_ prefix: String, _ count: Int) -> [String] { (1...count).map { "\(prefix)\($0)" } }

    @Test("a window of 25% starts a quarter of the group at once and slides as hosts end")
    func window() {
        var run = Driven(plan([HostGroup(hosts("web", 8), batch: .percent(25))]))
        run.keep(run.engine.start(now: t0))
        #expect(run.take() == ["0:web1", "0:web2"])
        run.answer(0, "web1", .ok, at: t0)
        #expect(run.take() == ["0:web3"], "one ended, one more starts")
        run.answer(0, "web2", .ok, at: t0)
        run.answer(0, "web3", .ok, at: t0)
        #expect(run.take() == ["0:web4", "0:web5"])
        #expect(run.restored.slots == run.engine.slots, "the journal rebuilds who started when")
        for host in hosts("web", 8).dropFirst(3) { run.answer(0, host, .ok, at: t0) }
        #expect(run.engine.state == .done)
    }

    @Test("each host's timeout runs from its own start, not the group's")
    func perHostTimeout() {
        var run = Driven(plan([HostGroup(["a", "b"], batch: .count(1))], timeout: 30))
        run.keep(run.engine.start(now: t0))
        run.answer(0, "a", .ok, at: t0.adding(seconds: 20))
        #expect(run.take() == ["0:a", "0:b"])
        #expect(run.engine.deadline(request: 0, host: "b") == t0.adding(seconds: 50))
        run.keep(run.engine.tick(now: t0.adding(seconds: 40)))
        #expect(run.engine.slots[0]["b"]?.state == .queued, "b started at 20 s: not yet due")
        run.keep(run.engine.tick(now: t0.adding(seconds: 50)))
        #expect(run.engine.slots[0]["b"]?.state == .noAnswer)
    }

    @Test("a 10% budget tolerates one of ten; a second failure, a no-answer host, stops the group and says which is which")
    func budgetWithNoAnswer() {
        let group = HostGroup(hosts("h", 10), batch: .count(2), maxFailures: .percent(10))
        var run = Driven(BatchPlan(
            id: id, origin: "jlore",
            requests: [PlannedRequest(name: "deploy", groups: [group, ["later"]])], hostTimeout: 30, expires: t0.adding(seconds: 3600)))
        run.keep(run.engine.start(now: t0))
        #expect(run.take() == ["0:h1", "0:h2"])
        run.answer(0, "h1", .failed, at: t0)
        #expect(run.take() == ["0:h3"], "one failure is within the budget: the window slides on")
        for host in ["h2", "h3"] { run.answer(0, host, .ok, at: t0) }
        run.answer(0, "h4", .ok, at: t0.adding(seconds: 10))
        #expect(run.take() == ["0:h4", "0:h5", "0:h6"])
        // h5 never answers: at its timeout it is no-answer, the second failure. h6 still runs;
        // the hosts not started are skipped at once, and nothing more starts.
        run.keep(run.engine.tick(now: t0.adding(seconds: 30)))
        #expect(run.engine.slots[0]["h5"]?.state == .noAnswer)
        #expect(run.take().isEmpty)
        for host in hosts("h", 10).suffix(4) {
            #expect(run.engine.slots[0][host]?.state == .skipped)
            #expect(run.engine.slots[0][host]?.note?.hasPrefix("not started: exceeded its failure budget") == true)
        }
        #expect(run.engine.state == .running, "h6 is still running")
        run.answer(0, "h6", .ok, at: t0.adding(seconds: 31))
        #expect(run.engine.state == .error)
        #expect(run.engine.slots[0]["later"]?.state == .skipped, "the next group never starts")
        let note = run.engine.notes[0] ?? ""
        #expect(note.contains("h1 failed") && note.contains("h5 no-answer") && note.contains("1 tolerated"), "\(note)")
        #expect(run.restored.notes == run.engine.notes && run.restored.state == .error)
    }

    @Test("a failure within the budget lets the group, and the batch, succeed")
    func withinBudget() {
        var run = Driven(plan([HostGroup(["l1", "l2"], maxFailures: .count(1))], timeout: 5))
        run.keep(run.engine.start(now: t0))
        run.answer(0, "l1", .ok, at: t0)
        run.keep(run.engine.tick(now: t0.adding(seconds: 5)))
        #expect(run.engine.slots[0]["l2"]?.state == .noAnswer)
        #expect(run.engine.state == .done && run.engine.requestStates == [.ok])
    }

    @Test("a pause holds the next group until it is over, also across a restart")
    func pauseBetweenGroups() {
        var run = Driven(plan([HostGroup(["canary"], pause: 30), ["web1"]]))
        run.keep(run.engine.start(now: t0))
        run.answer(0, "canary", .ok, at: t0.adding(seconds: 1))
        #expect(run.take() == ["0:canary"])
        #expect(run.engine.nextDeadline == t0.adding(seconds: 31))
        var restored = run.restored
        #expect(restored.recover(now: t0.adding(seconds: 10)).isEmpty, "still pausing after a restart")
        run.keep(run.engine.tick(now: t0.adding(seconds: 30.9)))
        #expect(run.take().isEmpty)
        run.keep(run.engine.tick(now: t0.adding(seconds: 31)))
        #expect(run.take() == ["0:web1"])
    }

    @Test("a check runs on the hosts that succeeded; when it fails on one, the next group never starts")
    func failingCheck() {
        var run = Driven(BatchPlan(
            id: id, origin: "jlore",
            requests: [PlannedRequest(name: "deploy", groups: [HostGroup(["a", "b", "c"], maxFailures: .count(1), check: "health"), ["d"]])],
            hostTimeout: 30, expires: t0.adding(seconds: 3600)))
        #expect(run.engine.checks == [PlannedCheck(request: 0, group: 0, name: "health", index: 1)])
        run.keep(run.engine.start(now: t0))
        run.answer(0, "a", .ok, at: t0)
        run.answer(0, "b", .failed, at: t0)
        _ = run.take()
        run.answer(0, "c", .ok, at: t0)
        #expect(run.take() == ["1:a", "1:c"], "the check goes to the two that succeeded, as request 1")
        #expect(run.engine.plan.name(of: 1) == "health")
        #expect(run.restored.phase == .checking(index: 1))
        run.answer(1, "a", .ok, at: t0)
        run.answer(1, "c", .failed, at: t0)
        #expect(run.take().isEmpty)
        #expect(run.engine.state == .error)
        #expect(run.engine.notes[0] == "group 1: check health did not pass on c failed")
        #expect(run.engine.slots[0]["d"]?.state == .skipped)
    }

    @Test("a passing check lets the next group start")
    func passingCheck() {
        var run = Driven(plan([HostGroup(["a"], check: "health"), ["b"]]))
        run.keep(run.engine.start(now: t0))
        run.answer(0, "a", .ok, at: t0)
        run.answer(1, "a", .ok, at: t0)
        #expect(run.take() == ["0:a", "1:a", "0:b"])
        run.answer(0, "b", .ok, at: t0)
        #expect(run.engine.state == .done)
    }

    @Test("pause: running hosts finish, none starts; resume goes on; both survive a restart")
    func operatorPause() {
        var run = Driven(plan([HostGroup(["a", "b", "c"], batch: .count(1)), ["d"]]))
        run.keep(run.engine.start(now: t0))
        run.keep(run.engine.pause())
        run.answer(0, "a", .ok, at: t0)
        #expect(run.take() == ["0:a"], "a finishes; b does not start while paused")
        var restored = run.restored
        #expect(restored.paused)
        #expect(restored.recover(now: t0.adding(seconds: 1)).allSatisfy { if case .send = $0 { false } else { true } })
        run.keep(run.engine.resume(now: t0.adding(seconds: 2)))
        #expect(run.take() == ["0:b"])
        #expect(!run.restored.paused)
    }

    @Test("cancel: undelivered hosts are withdrawn, the rest skipped; the batch ends in error once running hosts answer")
    func cancel() {
        var run = Driven(plan([HostGroup(["a", "b", "c", "d"], batch: .count(2)), ["e"]]))
        run.keep(run.engine.start(now: t0))
        run.keep(run.engine.acknowledged(request: 0, host: "a"))
        let actions = run.engine.cancel(now: t0.adding(seconds: 1))
        run.keep(actions)
        #expect(actions.contains(.withdraw(request: 0, host: "b")) && !actions.contains(.withdraw(request: 0, host: "a")))
        #expect(run.engine.slots[0]["c"]?.state == .skipped && run.engine.slots[0]["b"]?.state == .skipped)
        #expect(run.engine.state == .running, "a still runs")
        run.answer(0, "a", .ok, at: t0.adding(seconds: 2))
        #expect(run.engine.state == .error)
        #expect(run.engine.notes[0] == "cancelled by the operator")
        #expect(run.engine.slots[0]["e"]?.state == .skipped)
        #expect(run.restored.cancelled == t0.adding(seconds: 1) && run.restored.state == .error)
    }

    @Test("the verifier recomputes budgets and checks from the executed file")
    func verifierAgrees() {
        var request = Request(name: "deploy")
        request.groups = [HostGroup(["a", "b"], maxFailures: .count(1), check: "health"), ["c"]]
        request.records = [HostRecord(host: "a", state: .ok), HostRecord(host: "b", state: .noAnswer), HostRecord(host: "c", state: .ok)]
        request.checks = [GroupCheck(group: 0, request: "health", index: 1, records: [HostRecord(host: "a", state: .ok)])]
        request.state = .ok
        var batch = Batch(id: id, name: "b", origin: "jlore", created: t0, requests: [request])
        batch.state = .done
        #expect(BatchVerifier.consistency(batch).passed, "\(BatchVerifier.consistency(batch).detail)")
        batch.requests[0].checks[0].records[0].state = .failed
        #expect(!BatchVerifier.consistency(batch).passed, "a failed check makes the request failed, whatever the file says")
        batch.requests[0].checks = []
        #expect(!BatchVerifier.consistency(batch).passed, "a group with check: but no check record did not succeed")
    }
}
