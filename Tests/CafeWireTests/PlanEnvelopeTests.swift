import CafeCore
import CafeCrypto
import CafeWire
import CafeTestSupport
import Testing

@Suite("plan requests, plan answers and planned digests")
struct PlanEnvelopeTests {
    let plan = "20261129-153012-301-9f2c1a7be301"
    let commandMap = CommandMap(entries: [
        "activate_dialup": CommandMapEntry(commands: [
            .shell("echo \"$CAFE_DATA_USERNAME\" {{username}}"), .argv(["useradd", "-m", "--", "{{username:operand}}"]),
        ]),
        "set_password": CommandMapEntry(commands: [.argv(["chpasswd", "{{pw}}"])]),
    ])

    func query(_ request: String = "activate_dialup", data: [RequestData.Field] = [.init(key: "username", value: "cranky")], secretKeys: [String] = ["pw"]) -> PlanRequestBody {
        PlanRequestBody(plan: plan, batchName: "seed", index: 0, request: request, data: data, secretKeys: secretKeys)
    }

    @Test("a host answers with its entry's digest and the commands as a run fills them in; shell text stays as written")
    func answer() throws {
        let answer = PlanAnswerBody(answering: query(), id: "q1", host: "monk1", commandMap: commandMap)
        #expect(answer.state == .ok && answer.message == nil)
        #expect(answer.commandDigest == commandMap.entry(for: "activate_dialup")?.digest)
        #expect(answer.commands == ["echo \"$CAFE_DATA_USERNAME\" {{username}}", "useradd -m -- cranky"])
        #expect(answer.answers == "q1" && answer.host == "monk1" && answer.plan == plan)
    }

    @Test("secret values never travel in a plan request, and a placeholder naming a secret fails as it would in a run")
    func secrets() throws {
        let fixture = try Fixture()
        let body = query("set_password")
        let envelope = Envelope.seal(header: fixture.header(.planRequest, sender: "jlore", target: "monk1"), body: .planRequest(body), key: fixture.jlore)
        #expect(envelope.text.contains("secret-keys: [pw]"))
        guard case .planRequest(let opened) = try Envelope.open(envelope.bytes, keys: fixture.keys).body else { Issue.record("not a plan request"); return }
        #expect(opened == body)
        let answer = PlanAnswerBody(answering: opened, id: "q1", host: "monk1", commandMap: commandMap)
        #expect(answer.state == .failed)
        #expect(answer.message?.contains("names a secret") == true, "\(answer.message ?? "")")
        #expect(answer.commands.isEmpty)
        #expect(answer.commandDigest == commandMap.entry(for: "set_password")?.digest)
    }

    @Test("no entry, or a placeholder without a value: failed, with the reason")
    func cannotRun() {
        let missing = PlanAnswerBody(answering: query("nothing_here"), id: "q1", host: "monk1", commandMap: commandMap)
        #expect(missing.state == .failed && missing.commandDigest == nil)
        #expect(missing.message == "no command-map entry for 'nothing_here' on monk1 (add it to config/commands.yaml)")
        let hole = PlanAnswerBody(answering: query(data: []), id: "q1", host: "monk1", commandMap: commandMap)
        #expect(hole.state == .failed && hole.message?.contains("{{username:operand}} has no value") == true, "\(hole.message ?? "")")
    }

    @Test("a plan answer is its own kind: it round-trips, and neither altered bytes nor its signature under another kind verify")
    func answerKind() throws {
        let fixture = try Fixture()
        let body = PlanAnswerBody(answering: query(), id: "20261129-153012-345-0011223344556677", host: "monk1", commandMap: commandMap)
        let envelope = Envelope.seal(header: fixture.header(.planAnswer), body: .planAnswer(body), key: fixture.monk1)
        #expect(try Envelope.open(envelope.bytes, keys: fixture.keys).body == .planAnswer(body))
        #expect(envelope.text.contains("\nsignature: plan-answer monk1 "))
        // The same bytes claimed as a result: the signature line names the kind it was made for.
        let relabelled = Array(envelope.text.replacing("kind: plan-answer", with: "kind: result").replacing("signature: plan-answer", with: "signature: result").utf8)
        #expect(throws: EnvelopeError.self) { try Envelope.open(relabelled, keys: fixture.keys) }
        let altered = Array(envelope.text.replacing("useradd -m -- cranky", with: "useradd -m -- root").utf8)
        #expect(throws: EnvelopeError.self) { try Envelope.open(altered, keys: fixture.keys) }
    }

    @Test("a plan answer says ok only with a digest, and only ok, failed or denied")
    func answerStates() throws {
        let fixture = try Fixture()
        for (state, digest) in [(HostState.ok, nil), (.running, "sha256:" + String(repeating: "a", count: 64))] as [(HostState, String?)] {
            let body = PlanAnswerBody(plan: plan, index: 0, request: "r", answers: "q1", host: "monk1", state: state, commandDigest: digest)
            let envelope = Envelope.seal(header: fixture.header(.planAnswer), body: .planAnswer(body), key: fixture.monk1)
            #expect(throws: EnvelopeError.self) { try Envelope.open(envelope.bytes, keys: fixture.keys) }
        }
    }

    @Test("a planned request runs only where the entry still has the planned digest; the refusal names both digests")
    func mismatch() throws {
        let planned = try #require(commandMap.entry(for: "activate_dialup")?.digest)
        var body = RequestBody(batch: plan, batchName: "seed", index: 0, request: "activate_dialup")
        #expect(body.planMismatch(commandMap: commandMap, host: "monk1") == nil, "no plan, no check")
        body.planDigest = planned
        #expect(body.planMismatch(commandMap: commandMap, host: "monk1") == nil)
        var changed = commandMap
        changed.entries["activate_dialup"]?.commands.append(.shell("touch /tmp/marker"))
        let now = try #require(changed.entry(for: "activate_dialup")?.digest)
        let reason = try #require(body.planMismatch(commandMap: changed, host: "monk1"))
        #expect(reason.contains(now) && reason.contains(planned) && reason.contains("nothing ran"), "\(reason)")
        changed.entries["activate_dialup"] = nil
        #expect(body.planMismatch(commandMap: changed, host: "monk1")?.contains("gone (no entry)") == true)
        // The digest travels in the signed request.
        let fixture = try Fixture()
        let envelope = Envelope.seal(header: fixture.header(.request, sender: "jlore", target: "monk1"), body: .request(body), key: fixture.jlore)
        guard case .request(let opened) = try Envelope.open(envelope.bytes, keys: fixture.keys).body else { Issue.record("not a request"); return }
        #expect(opened.planDigest == planned)
    }

    @Test("a signed result carries the digest of the entry it ran; results without one still open")
    func resultDigest() throws {
        let fixture = try Fixture()
        let digest = "sha256:" + String(repeating: "c", count: 64)
        let body = ResultBody(
            batch: plan, index: 0, request: "activate_dialup", answers: "q1", result: HostResult(host: "monk1", state: .ok, commandDigest: digest))
        let envelope = Envelope.seal(header: fixture.header(.result), body: .result(body), key: fixture.monk1)
        #expect(envelope.text.contains("\n  command-digest: '\(digest)'\n"), "readable with cat")
        guard case .result(let opened) = try Envelope.open(envelope.bytes, keys: fixture.keys).body else { Issue.record("not a result"); return }
        #expect(opened.result.commandDigest == digest)
        guard case .result(let older) = try Envelope.open(fixture.result().bytes, keys: fixture.keys).body else { Issue.record("not a result"); return }
        #expect(older.result.commandDigest == nil)
    }
}
