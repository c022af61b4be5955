import CafeCore
import CafeTestSupport
import CafeWire
@testable import CafeNode
import Testing

@Suite("batch engine (pure, injected time)")
struct BatchEngineTests {
    let t0 = Timestamp(milliseconds: 1_795_966_212_000)
    let id = BatchID(validating: "20261129-153012-000-000000000001")!

    func plan(_ requests: [PlannedRequest], timeout: Double? = 30, expiresIn: Double = 3600) -> BatchPlan {
        BatchPlan(id: id, origin: "jlore", requests: requests, hostTimeout: timeout, expires: t0.adding(seconds: expiresIn))
    }

    func sends(_ actions: [BatchAction]) -> [String] {
        actions.compactMap { if case .send(let r, let h) = $0 { "\(r):\(h)" } else { nil } }
    }

    func finished(_ actions: [BatchAction]) -> BatchState? {
        actions.compactMap { if case .finished(let s) = $0 { s } else { nil } }.first
    }

    func result(_ host: String, _ state: HostState) -> HostResult { HostResult(host: host, state: state) }

    @Test("groups run in order; hosts of a group together; the next group after all succeed")
    func gating() {
        var engine = BatchEngine(plan: plan([PlannedRequest(name: "a", groups: [["jlore", "monk1"], ["backup1"]])]))
        #expect(sends(engine.start(now: t0)) == ["0:jlore", "0:monk1"])
        #expect(sends(engine.received(request: 0, host: "jlore", result: result("jlore", .ok), signed: "s", now: t0)).isEmpty)
        #expect(sends(engine.received(request: 0, host: "monk1", result: result("monk1", .ok), signed: "s", now: t0)) == ["0:backup1"])
        let last = engine.received(request: 0, host: "backup1", result: result("backup1", .ok), signed: "s", now: t0)
        #expect(finished(last) == .done)
        #expect(engine.requestStates == [.ok])
    }

    @Test("a failure in group 1 keeps group 2 and later requests from running")
    func failureStops() {
        var engine = BatchEngine(plan: plan([
            PlannedRequest(name: "a", groups: [["jlore", "monk1"], ["backup1"]]), PlannedRequest(name: "b", groups: [["jlore"]]),
        ]))
        _ = engine.start(now: t0)
        _ = engine.received(request: 0, host: "jlore", result: result("jlore", .failed), signed: "s", now: t0)
        let actions = engine.received(request: 0, host: "monk1", result: result("monk1", .ok), signed: "s", now: t0)
        #expect(sends(actions).isEmpty)
        #expect(finished(actions) == .error)
        #expect(engine.slots[0]["backup1"]?.state == .skipped)
        #expect(engine.slots[1]["jlore"]?.state == .skipped)
        #expect(engine.requestStates == [.failed, .skipped])
    }

    @Test("at the timeout, acknowledged hosts are no-answer and undelivered ones are withdrawn")
    func timeout() {
        var engine = BatchEngine(plan: plan([PlannedRequest(name: "a", groups: [["monk1", "cluster1", "jlore"]])], timeout: 30))
        _ = engine.start(now: t0)
        _ = engine.dispatched(request: 0, host: "monk1")
        _ = engine.acknowledged(request: 0, host: "monk1")
        _ = engine.received(request: 0, host: "jlore", result: result("jlore", .ok), signed: "s", now: t0)
        #expect(engine.tick(now: t0.adding(seconds: 29.999)).isEmpty)
        #expect(engine.nextDeadline == t0.adding(seconds: 30))
        let actions = engine.tick(now: t0.adding(seconds: 30))
        #expect(actions.contains(.withdraw(request: 0, host: "cluster1")))
        #expect(!actions.contains(.withdraw(request: 0, host: "monk1")))
        #expect(engine.slots[0]["monk1"]?.state == .noAnswer)
        #expect(engine.slots[0]["monk1"]?.note == "no answer within 30 s (--timeout)")
        #expect(engine.slots[0]["cluster1"]?.state == .noAnswer)
        #expect(engine.slots[0]["cluster1"]?.note == "not delivered within 30 s (--timeout)")
        #expect(engine.slots[0]["jlore"]?.state == .ok)
        #expect(finished(actions) == .error)
    }

    @Test("without a timeout, undelivered requests expire and delivered ones are no-answer")
    func expiry() {
        var engine = BatchEngine(plan: plan([PlannedRequest(name: "a", groups: [["monk1", "cluster1"]])], timeout: nil, expiresIn: 600))
        _ = engine.start(now: t0)
        _ = engine.acknowledged(request: 0, host: "monk1")
        #expect(engine.nextDeadline == t0.adding(seconds: 600))
        _ = engine.tick(now: t0.adding(seconds: 600))
        #expect(engine.slots[0]["cluster1"]?.state == .expired)
        #expect(engine.slots[0]["monk1"]?.state == .noAnswer)
    }

    @Test("a late result after no-answer is ignored; failed and no-answer are never confused")
    func lateResult() {
        var engine = BatchEngine(plan: plan([PlannedRequest(name: "a", groups: [["monk1"]])], timeout: 5))
        _ = engine.start(now: t0)
        _ = engine.tick(now: t0.adding(seconds: 5))
        #expect(engine.received(request: 0, host: "monk1", result: result("monk1", .ok), signed: "s", now: t0.adding(seconds: 6)).isEmpty)
        #expect(engine.slots[0]["monk1"]?.state == .noAnswer)
    }

    @Test("a duplicate result changes nothing")
    func duplicateResult() {
        var engine = BatchEngine(plan: plan([PlannedRequest(name: "a", groups: [["monk1"], ["jlore"]])]))
        _ = engine.start(now: t0)
        let first = engine.received(request: 0, host: "monk1", result: result("monk1", .ok), signed: "s", now: t0)
        #expect(sends(first) == ["0:jlore"])
        #expect(engine.received(request: 0, host: "monk1", result: result("monk1", .ok), signed: "s", now: t0).isEmpty)
    }

    @Test("a request without a delivery entry fails the batch without sending anything")
    func undeliverable() {
        var engine = BatchEngine(plan: plan([PlannedRequest(name: "a", groups: [], undeliverable: "no delivery.yaml entry")]))
        let actions = engine.start(now: t0)
        #expect(sends(actions).isEmpty)
        #expect(finished(actions) == .error)
        #expect(engine.requestStates == [.failed])
    }

    @Test("replaying the journal rebuilds the same state, and resume sends only what was never sent")
    func replay() {
        let thePlan = plan([PlannedRequest(name: "a", groups: [["jlore", "monk1", "cluster1"], ["backup1"]])])
        var engine = BatchEngine(plan: thePlan)
        var records: [JournalRecord] = []
        func keep(_ actions: [BatchAction]) {
            records += actions.compactMap { if case .record(let r) = $0 { r } else { nil } }
        }
        keep(engine.start(now: t0))
        keep(engine.dispatched(request: 0, host: "jlore"))
        keep(engine.acknowledged(request: 0, host: "jlore"))
        keep(engine.dispatched(request: 0, host: "monk1"))
        keep(engine.received(request: 0, host: "jlore", result: result("jlore", .ok), signed: "s", now: t0))
        var restored = BatchEngine(plan: thePlan, replaying: records)
        #expect(restored.slots == engine.slots)
        #expect(restored.state == .running)
        #expect(restored.cursor?.request == 0 && restored.cursor?.group == 0)
        #expect(sends(restored.recover(now: t0.adding(seconds: 1))) == ["0:cluster1"])
    }

    @Test("a group's hosts cost the same each for 250 hosts or 2,000, all at once or 50 at a time", arguments: [nil, 50])
    func linearGroup(window: Int?) {
        /// One group of `count` hosts, each handed out, acknowledged and answered in turn, the
        /// window sliding; the batch must end done with every host run once.
        func run(_ count: Int) {
            let hosts = (0..<count).map { "h\($0)" }
            var engine = BatchEngine(plan: plan([PlannedRequest(name: "a", groups: [HostGroup(hosts, batch: window.map { .count($0) })])]))
            var started = sends(engine.start(now: t0))
            var outcome: BatchState?
            var next = 0
            while next < started.count {
                let host = String(started[next].dropFirst(2))
                next += 1
                _ = engine.dispatched(request: 0, host: host)
                _ = engine.acknowledged(request: 0, host: host)
                let actions = engine.received(request: 0, host: host, result: result(host, .ok), signed: "s", now: t0)
                started += sends(actions)
                outcome = outcome ?? finished(actions)
            }
            #expect(next == count && outcome == .done)
        }
        let (ratio, small, large) = growthRatio({ run(250) }, { run(2_000) })
        #expect(ratio < 16, "250 hosts took \(small * 1000) ms, 2,000 took \(large * 1000) ms (median ratio \(ratio)×)")
    }

    @Test("a refusal by the host ends it by the refusal's code, never by the wording of its reason", arguments: [
        (AckBody.Code?.some(.expired), "envelope too old", HostState.expired),
        (.some(.denied), "expired keys are not trusted here", .failed),
        (.some(.busy), "too many answers waiting", .failed),
        (.some(.planMismatch), "the command-map entry for 'a' on monk1 is sha256:b… now, but the plan has sha256:a…", .failed),
        (nil, "expired at …", .failed),
    ])
    func refused(code: AckBody.Code?, reason: String, state: HostState) {
        var engine = BatchEngine(plan: plan([PlannedRequest(name: "a", groups: [["monk1"]])]))
        _ = engine.start(now: t0)
        _ = engine.refused(request: 0, host: "monk1", code: code, reason: reason, now: t0)
        #expect(engine.slots[0]["monk1"]?.state == state)
        #expect(engine.slots[0]["monk1"]?.note == "refused by monk1: \(reason)")
        #expect(engine.state == .error)
    }
}

@Suite("reconnect backoff")
struct BackoffTests {
    struct FixedRandom: RandomSource {
        var byte: UInt8
        func bytes(_ count: Int) -> [UInt8] { Array(repeating: byte, count: count) }
    }

    @Test("doubles up to the cap, with jitter between half and all of it, and resets on success")
    func backoff() {
        let now = Timestamp(milliseconds: 0)
        var backoff = Backoff(baseDelay: 0.2, maxDelay: 5)
        #expect(backoff.mayAttempt(now: now))
        #expect(backoff.failed(now: now, random: FixedRandom(byte: 255)) == 0.2)
        #expect(backoff.failed(now: now, random: FixedRandom(byte: 255)) == 0.4)
        #expect(backoff.failed(now: now, random: FixedRandom(byte: 0)) == 0.4)
        for _ in 0..<10 { backoff.failed(now: now, random: FixedRandom(byte: 255)) }
        #expect(backoff.failed(now: now, random: FixedRandom(byte: 255)) == 5)
        #expect(!backoff.mayAttempt(now: now.adding(seconds: 4.9)))
        #expect(backoff.mayAttempt(now: now.adding(seconds: 5)))
        backoff.succeeded()
        #expect(backoff.mayAttempt(now: now))
        #expect(backoff.failed(now: now, random: FixedRandom(byte: 255)) == 0.2)
    }
}
