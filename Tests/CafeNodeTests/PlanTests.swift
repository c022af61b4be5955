import CafeCore
import CafeWire
@testable import CafeNode
import Testing

@Suite("plans (pure): hash, coverage, collection, stored file")
struct PlanTests {
    let t0 = Timestamp(milliseconds: 1_795_966_212_000)
    let id = BatchID(validating: "20261129-153012-000-000000000001")!
    let a = "sha256:" + String(repeating: "a", count: 64)
    let b = "sha256:" + String(repeating: "b", count: 64)

    func line(_ index: Int, _ request: String, _ host: String, _ digest: String?) -> PlannedHost {
        var line = PlannedHost(index: index, request: request, host: host)
        line.state = digest == nil ? .noAnswer : .ok
        line.commandDigest = digest
        return line
    }

    func plan(_ hosts: [PlannedHost]) -> CollectedPlan {
        CollectedPlan(id: id, name: "seed", origin: "jlore", created: t0, hosts: hosts)
    }

    @Test("the hash is SHA-256 of 'cafe-plan 1' and one 'REQUEST HOST DIGEST' line per host, as sha256sum gives it")
    func hashEncoding() {
        let complete = plan([line(0, "activate_dialup", "jlore", a), line(0, "activate_dialup", "monk1", b)])
        #expect(String(decoding: CollectedPlan.hashInput([("activate_dialup", "jlore", a), ("activate_dialup", "monk1", b)]), as: UTF8.self)
            == "cafe-plan 1\nactivate_dialup jlore \(a)\nactivate_dialup monk1 \(b)\n")
        // printf 'cafe-plan 1\nactivate_dialup jlore sha256:aaa…\nactivate_dialup monk1 sha256:bbb…\n' | sha256sum
        #expect(complete.hash == "883c40c816ae3a4dcf3c0ab1be328432bc230946de0d74ec95f366ca3ace6744")
        #expect(complete.text.hasSuffix("\n883c40c816ae3a4dcf3c0ab1be328432bc230946de0d74ec95f366ca3ace6744\n"), "the hash is the last line")
    }

    @Test("the hash changes with any digest, host, request or order; an incomplete plan has none")
    func hashChanges() {
        let base = plan([line(0, "r", "jlore", a), line(0, "r", "monk1", b)]).hash
        let others = [
            plan([line(0, "r", "jlore", a), line(0, "r", "monk1", a)]),
            plan([line(0, "r", "monk1", b), line(0, "r", "jlore", a)]),
            plan([line(0, "r", "jlore", a), line(0, "r", "cluster1", b)]),
            plan([line(0, "r", "jlore", a), line(0, "s", "monk1", b)]),
            plan([line(0, "r", "jlore", a)]),
        ].map(\.hash)
        #expect(base != nil && !others.contains(base) && Set(others).count == others.count)
        let incomplete = plan([line(0, "r", "jlore", a), line(0, "r", "monk1", nil)])
        #expect(incomplete.hash == nil && !incomplete.isComplete)
        #expect(!incomplete.text.split(separator: "\n").contains { SHA256Digest.isHex(String($0)) }, "no hash line")
        #expect(plan([]).hash == nil)
    }

    @Test("a batch's requests and hosts must be the plan's, in order; the error names the first difference")
    func coverage() throws {
        let stored = plan([line(0, "r", "jlore", a), line(0, "r", "monk1", b)])
        let batch = Batch(id: id, name: "seed", origin: "jlore", created: t0, requests: [Request(name: "r")])
        func slots(_ groups: [HostGroup]) throws -> [PlannedHost] {
            try CollectedPlan.slots(
                of: batch, plan: BatchPlan(id: id, origin: "jlore", requests: [PlannedRequest(name: "r", groups: groups)], hostTimeout: nil, expires: t0),
                source: "seed.yaml")
        }
        try stored.check(covers: try slots([["jlore", "monk1"]]), source: "seed.yaml")
        try stored.check(covers: try slots([["jlore"], ["monk1"]]), source: "seed.yaml")
        let swapped = #expect(throws: InputError.self) { try stored.check(covers: try slots([["monk1", "jlore"]]), source: "seed.yaml") }
        #expect(swapped?.description.contains("the plan has r[0] on jlore where the batch has r[0] on monk1") == true, "\(swapped?.description ?? "")")
        let more = #expect(throws: InputError.self) { try stored.check(covers: try slots([["jlore", "monk1", "cluster1"]]), source: "seed.yaml") }
        #expect(more?.description.contains("the batch also has r[0] on cluster1") == true)
        let fewer = #expect(throws: InputError.self) { try stored.check(covers: try slots([["jlore"]]), source: "seed.yaml") }
        #expect(fewer?.description.contains("the plan also has r[0] on monk1") == true)
        var adhoc = batch
        adhoc.requests[0].add(Command(.shell("true")))
        let refused = #expect(throws: InputError.self) {
            try CollectedPlan.slots(
                of: adhoc, plan: BatchPlan(id: id, origin: "jlore", requests: [PlannedRequest(name: "r", groups: [["jlore"]])], hostTimeout: nil, expires: t0),
                source: "seed.yaml")
        }
        #expect(refused?.description.contains("carries its own commands") == true)
    }

    func collection() -> PlanCollection {
        var collection = PlanCollection(
            plan: plan([PlannedHost(index: 0, request: "r", host: "jlore"), PlannedHost(index: 0, request: "r", host: "monk1")]),
            deadline: t0.adding(seconds: 5), timeout: 5)
        collection.sent(0, query: "q-jlore")
        collection.sent(1, query: "q-monk1")
        return collection
    }

    func answer(_ query: String, host: String, index: Int = 0, request: String = "r", digest: String? = nil) -> PlanAnswerBody {
        PlanAnswerBody(plan: id.rawValue, index: index, request: request, answers: query, host: host, state: .ok, commandDigest: digest ?? a, commands: ["true"])
    }

    @Test("an answer counts only for the plan request sent to its signer, for that request, speaking for itself")
    func answers() {
        var collection = collection()
        #expect(collection.answered(answer("q-jlore", host: "jlore"), sender: "monk1") != nil, "monk1 answering jlore's request")
        #expect(collection.answered(answer("q-monk1", host: "jlore"), sender: "monk1")?.contains("speaks for jlore") == true)
        #expect(collection.answered(answer("q-other", host: "monk1"), sender: "monk1") != nil)
        #expect(collection.answered(answer("q-monk1", host: "monk1", index: 1), sender: "monk1") != nil)
        #expect(collection.answered(answer("q-monk1", host: "monk1", request: "s"), sender: "monk1") != nil)
        #expect(collection.plan.hosts.allSatisfy { $0.state == .sent }, "none of those changed anything")
        #expect(collection.answered(answer("q-monk1", host: "monk1"), sender: "monk1") == nil)
        #expect(collection.answered(answer("q-monk1", host: "monk1", digest: b), sender: "monk1") == nil, "a repeat changes nothing")
        #expect(collection.plan.hosts[1].state == .ok && collection.plan.hosts[1].commandDigest == a)
        #expect(!collection.isFinished)
    }

    @Test("a refusal fails the host with its reason; at the deadline silent hosts are no-answer, not before")
    func refusalsAndDeadline() {
        var collection = collection()
        collection.refused(query: "q-jlore", reason: "denied: not in trust.yaml")
        #expect(collection.plan.hosts[0].state == .failed && collection.plan.hosts[0].note == "refused by jlore: denied: not in trust.yaml")
        collection.expire(now: t0.adding(seconds: 4.9))
        #expect(collection.plan.hosts[1].state == .sent && !collection.isFinished)
        collection.expire(now: t0.adding(seconds: 5))
        #expect(collection.plan.hosts[1].state == .noAnswer && collection.plan.hosts[1].note == "no answer within 5 s (--timeout)")
        #expect(collection.isFinished && collection.plan.hash == nil)
        #expect(collection.plan.text.contains("[0] r on monk1: no-answer — no answer within 5 s (--timeout)"))
    }

    @Test("a stored plan reads back as written, and one edited after it was written is refused")
    func storedFile() throws {
        var stored = plan([line(0, "r", "jlore", a), line(0, "r", "monk1", b)])
        stored.hosts[0].commands = ["echo 'hi there'", "useradd -m -- cranky"]
        let hash = try #require(stored.hash)
        #expect(try CollectedPlan(yaml: stored.yaml, hash: hash, source: "p.yaml") == stored)
        let edited = Array(String(decoding: stored.yaml, as: UTF8.self).replacing(b, with: a).utf8)
        let error = #expect(throws: InputError.self) { try CollectedPlan(yaml: edited, hash: hash, source: "p.yaml") }
        #expect(error?.description.contains("was changed after it was written") == true)
        #expect(throws: InputError.self) { try CollectedPlan(yaml: stored.yaml, hash: String(repeating: "0", count: 64), source: "p.yaml") }
    }
}
