import CafeCore
import CafeCrypto
import CafeNode
import CafeWire
import Foundation
import Glibc
import Testing

/// `cafe batch plan` and `cafe batch run --plan` on real `cafe-node` processes on 127.0.0.1.
@Suite("signed plans on real nodes", .serialized)
struct PlanMeshTests {
    /// The seed mesh of ``MeshTests`` (jlore, monk1, cluster1; activate_dialup to jlore and
    /// monk1, then cluster1), with entries that fill a placeholder and append a line to
    /// NAME.ran, so what ran where can be counted.
    func seedMesh() throws -> MeshFixture {
        let mesh = try MeshTests().seedMesh()
        for name in mesh.names { try mesh.write(name, "commands.yaml", commands(mesh, name)) }
        return mesh
    }

    func commands(_ mesh: MeshFixture, _ name: String, extra: String = "") -> String {
        "activate_dialup:\n  - echo \"$CAFE_NODE\" >> \(mesh.directory.path)/\(name).ran\n  - [echo, \"user {{username}}\"]\n" + extra
    }

    /// The digest of `name`'s activate_dialup entry, computed here from its commands.yaml.
    func digest(_ mesh: MeshFixture, _ name: String) throws -> String {
        let path = mesh.home(name) + "/config/commands.yaml"
        return try #require(try CommandMap(yaml: FileSystem.read(path, maxBytes: 1 << 20), source: path).entry(for: "activate_dialup")).digest
    }

    func text(_ path: String) throws -> String { String(decoding: try FileSystem.read(path, maxBytes: 16 << 20), as: UTF8.self) }

    @Test("plan lists every host with its digest and commands and runs nothing; run --plan succeeds while nothing changed; a changed entry is refused with plan-mismatch and runs nothing; verify shows the digests")
    func planThenRun() throws {
        let mesh = try seedMesh()
        defer { mesh.cleanup() }
        try mesh.startAll()
        let jlore = mesh.home("jlore")
        let seed = mesh.directory.path + "/seed.yaml"
        let ran = { (name: String) in mesh.directory.path + "/\(name).ran" }

        let plan = cafe(["batch", "plan", "--home", jlore, "--timeout", "20", seed])
        #expect(plan.status == 0, "\(plan.stdout)\n\(plan.stderr)")
        let hash = plan.lastLine
        #expect(SHA256Digest.isHex(hash), "the last line is the plan's hash: \(plan.stdout)")
        let digests = try Dictionary(uniqueKeysWithValues: mesh.names.map { ($0, try digest(mesh, $0)) })
        for name in mesh.names {
            #expect(plan.stdout.contains("[0] activate_dialup on \(name): ok \(digests[name]!)\n"), "\(plan.stdout)")
            #expect(!FileSystem.exists(ran(name)), "nothing ran on \(name) for the plan")
            #expect(try text(mesh.home(name) + "/log/audit.log").contains("kind=plan-request"), "the plan's trust decision is audited on \(name)")
        }
        #expect(plan.stdout.contains("    $ echo 'user cranky'\n"), "placeholders filled as a run fills them")
        #expect(!plan.stdout.contains("plane"), "secrets are never shown")
        let expected = CollectedPlan.hashInput(["jlore", "monk1", "cluster1"].map { ("activate_dialup", $0, digests[$0]!) })
        #expect(hash == Hex.encode(SHA256.hash(expected)))
        #expect(FileSystem.exists(jlore + "/batches/plans/\(hash).yaml"))

        let run = cafe(["batch", "run", "--home", jlore, "--timeout", "30", "--plan", hash, seed])
        #expect(run.status == 0, "\(run.stderr)")
        for name in mesh.names { #expect(lineCount(ran(name)) == 1, "\(name) ran once") }
        let verify = cafe(["verify", "--home", jlore, run.lastLine])
        #expect(verify.status == 0, "\(verify.stdout)")
        for name in mesh.names {
            #expect(verify.stdout.contains("PASS  activate_dialup[0] on \(name): ok, signed by \(name)"))
            #expect(verify.stdout.contains("; ran command-map entry \(digests[name]!)\n"), "\(verify.stdout)")
        }
        let json = try JSONSerialization.jsonObject(with: Data(cafe(["verify", "--json", "--home", jlore, run.lastLine]).stdout.utf8)) as? [String: Any]
        let verdicts = json?["verdicts"] as? [[String: Any]] ?? []
        #expect(verdicts.compactMap { $0["command-digest"] as? String }.sorted() == digests.values.sorted())
        #expect(try text(run.lastLine).contains("planned:"), "the executed file records the plan it ran under")

        // monk1's entry changes (one more command, which would leave a marker) and is reloaded.
        try mesh.write("monk1", "commands.yaml", commands(mesh, "monk1", extra: "  - touch \(mesh.directory.path)/monk1.changed\n"))
        #expect(cafe(["reload", "--home", mesh.home("monk1")]).status == 0)
        let changed = try digest(mesh, "monk1")
        let refused = cafe(["batch", "run", "--home", jlore, "--timeout", "30", "--plan", hash, seed])
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.lastLine.hasPrefix(jlore + "/batches/error/"))
        #expect(!FileSystem.exists(mesh.directory.path + "/monk1.changed") && lineCount(ran("monk1")) == 1, "nothing ran on monk1")
        #expect(lineCount(ran("cluster1")) == 1, "the next group never started")
        let batch = try Batch(executedYAML: FileSystem.read(refused.lastLine, maxBytes: 1 << 20), source: refused.lastLine)
        let monk1 = try #require(batch.requests[0].records.first { $0.host == "monk1" })
        #expect(monk1.state == .failed, "plan-mismatch is failed, never no-answer")
        let note = monk1.note ?? ""
        #expect(note.hasPrefix("refused by monk1: ") && note.contains(changed) && note.contains(digests["monk1"]!), "\(note)")
        #expect(refused.stderr.contains("activate_dialup on monk1: failed"), "\(refused.stderr)")
        #expect(cafe(["verify", "--home", jlore, refused.lastLine]).status == 0)

        // Refused by the origin before anything is saved or sent: an unknown plan, another batch.
        let originals = try FileSystem.list(jlore + "/batches/original").count
        let unknown = cafe(["batch", "run", "--home", jlore, "--plan", String(repeating: "0", count: 64), seed])
        #expect(unknown.status == 2 && unknown.stderr.contains("no plan 000"), "\(unknown.stderr)")
        try mesh.directory.write("two.yaml", "name: two\nrequests:\n  - name: activate_dialup\n    data: {username: a}\n  - name: activate_dialup\n    data: {username: b}\n")
        let other = cafe(["batch", "run", "--home", jlore, "--plan", hash, mesh.directory.path + "/two.yaml"])
        #expect(other.status == 2 && other.stderr.contains("does not match plan \(hash)") && other.stderr.contains("the batch also has activate_dialup[1] on jlore"), "\(other.stderr)")
        #expect(try FileSystem.list(jlore + "/batches/original").count == originals)
    }

    @Test("a host that is denied or silent makes the plan fail: shown as such, no hash, nothing stored, exit 1")
    func incompletePlan() throws {
        let mesh = try seedMesh()
        defer { mesh.cleanup() }
        try mesh.write("monk1", "trust.yaml", "jlore: {requests: [something_else]}\n")
        try mesh.start("jlore")
        try mesh.start("monk1")
        // A control client past the CLI's checks: the node bounds the timeout itself.
        let client = try ControlClient(home: NodeHome(mesh.home("jlore")))
        try client.send(.plan(batch: Array("name: x\nrequests:\n  - name: activate_dialup\n".utf8), source: "x.yaml", timeout: 1e9))
        guard case .failure(let message, let status)? = try client.next() else { Issue.record("no refusal"); return }
        #expect(status == 2 && message.contains("--timeout: must be more than 0 and at most 86400 seconds"), "\(message)")
        let plan = cafe(["batch", "plan", "--home", mesh.home("jlore"), "--timeout", "2", mesh.directory.path + "/seed.yaml"])
        #expect(plan.status == 1)
        #expect(plan.stdout.contains("[0] activate_dialup on jlore: ok sha256:"), "\(plan.stdout)")
        #expect(plan.stdout.contains("[0] activate_dialup on monk1: denied — denied by monk1: "), "\(plan.stdout)")
        #expect(plan.stdout.contains("[0] activate_dialup on cluster1: no-answer — no answer within 2 s (--timeout)"), "\(plan.stdout)")
        #expect(!plan.stdout.split(separator: "\n").contains { SHA256Digest.isHex(String($0)) }, "no hash")
        #expect(plan.stderr.contains("no plan: 2 of 3 host(s) did not answer ok"), "\(plan.stderr)")
        #expect(((try? FileSystem.list(mesh.home("jlore") + "/batches/plans")) ?? []).isEmpty)
        #expect(try text(mesh.home("monk1") + "/log/audit.log").contains("deny signer=jlore"))
    }

    /// The status of the acknowledgement jlore sends for envelope `id`, if one comes.
    func ack(of id: String, on peer: RawPeer, keys: KeyRing) -> AckBody? {
        while let envelope = next(.ack, on: peer, keys: keys, timeout: 3) {
            if case .ack(let body) = envelope.body, body.acks == id { return body }
        }
        return nil
    }

    @Test("the origin refuses altered, mis-signed, misattributed and result-shaped answers to a plan; only the host's own signed answer counts")
    func hostileAnswers() throws {
        // jlore asks monk1, which the test plays over a raw link.
        let mesh = try MeshFixture(["jlore", "monk1"])
        defer { mesh.cleanup() }
        try mesh.write("jlore", "delivery.yaml", "provision:\n  - [monk1]\n")
        try mesh.directory.write("provision.yaml", "name: forged\nrequests:\n  - name: provision\n")
        try mesh.start("jlore")
        let monk1 = try KeyFiles.loadPrivateKey(from: NodeHome(mesh.home("monk1")), name: "monk1")
        let keys = KeyRing(keys: ["monk1": monk1.publicKey, "jlore": try PublicKey(text: mesh.keys["jlore"]!)])
        let peer = try RawPeer(port: mesh.ports["jlore"]!)
        #expect(peer.handshake(as: "monk1", key: monk1, with: "jlore", keys: keys) != nil)
        let planning = try DaemonProcess(
            arguments: [Binaries.cafe, "batch", "plan", "--home", mesh.home("jlore"), "--timeout", "30", mesh.directory.path + "/provision.yaml"],
            log: mesh.directory.path + "/plan.out")
        let query = try #require(next(.planRequest, on: peer, keys: keys), "jlore asks monk1 over the link monk1 opened")
        guard case .planRequest(let body) = query.body else { Issue.record("not a plan request"); return }
        peer.sendFrame(signedEnvelope(.ack(AckBody(acks: query.header.id, status: .accepted)), from: "monk1", to: "jlore", key: monk1).bytes)
        let honest = CommandMap(entries: ["provision": CommandMapEntry(commands: [.shell("true")])])
        let genuine = PlanAnswerBody(answering: body, id: query.header.id, host: "monk1", commandMap: honest)
        func answer(_ body: PlanAnswerBody, key: SigningKey = monk1) -> Envelope {
            signedEnvelope(.planAnswer(body), from: "monk1", origin: "jlore", to: "jlore", key: key)
        }

        // Altered after signing: another digest. Signed by a key that is not monk1's.
        let evil = "sha256:" + String(repeating: "e", count: 64)
        peer.sendFrame(Array(answer(genuine).text.replacing(genuine.commandDigest!, with: evil).utf8))
        var impostor = genuine
        impostor.commandDigest = evil
        peer.sendFrame(answer(impostor, key: try SigningKey.generate()).bytes)
        // Signed by monk1 but speaking for another host.
        var misattributed = impostor
        misattributed.host = "jlore"
        let third = answer(misattributed)
        peer.sendFrame(third.bytes)
        #expect(ack(of: third.header.id, on: peer, keys: keys)?.status == .refused)
        // A result envelope answering the plan request: never taken as a plan answer, nor as a result.
        let result = signedEnvelope(
            .result(ResultBody(batch: body.plan, index: 0, request: "provision", answers: query.header.id, result: HostResult(host: "monk1", state: .ok))),
            from: "monk1", origin: "jlore", to: "jlore", key: monk1)
        peer.sendFrame(result.bytes)
        let resultAck = ack(of: result.header.id, on: peer, keys: keys)
        #expect(resultAck != nil && resultAck?.status != .accepted, "ignored: no batch runs under a plan's id")
        try mesh.waitUntil("jlore logs both bad signatures", timeout: 10) {
            mesh.log("jlore").components(separatedBy: "bad signature").count - 1 >= 2
        }
        #expect(planning.isRunning, "no forged answer completed the plan")

        let honestAnswer = answer(genuine)
        peer.sendFrame(honestAnswer.bytes)
        #expect(ack(of: honestAnswer.header.id, on: peer, keys: keys)?.status == .accepted)
        try mesh.waitUntil("cafe batch plan ends", timeout: 30) { !planning.isRunning }
        #expect(planning.exitStatus == 0, "\(planning.logText)")
        let output = planning.logText
        #expect(output.contains("[0] provision on monk1: ok \(genuine.commandDigest!)\n    $ true\n"), "\(output)")
        #expect(!output.contains(evil))
        let audit = try text(mesh.home("jlore") + "/log/audit.log")
        #expect(audit.contains("action=plan-answer") && audit.contains("for-host=jlore"), "\(audit)")
    }
}
