import CafeCore
import CafeCrypto
import CafeNode
import CafeWire
import Glibc
import Testing

/// Rules that users rely on and that once had no test failing when they broke: a result signed
/// by one host for another, and a request that expires while it waits at its host.
@Suite("rules guarded end to end", .serialized)
struct GuardedRulesTests {
    func text(_ path: String) throws -> String { String(decoding: try FileSystem.read(path, maxBytes: 16 << 20), as: UTF8.self) }

    func ack(_ envelope: Envelope, as name: String, key: SigningKey, status: AckBody.Status = .accepted, code: AckBody.Code? = nil) -> [UInt8] {
        signedEnvelope(.ack(AckBody(acks: envelope.header.id, status: status, code: code)), from: name, to: envelope.header.sender, key: key).bytes
    }

    func result(_ request: Envelope, host: String, state: HostState, signedBy name: String, key: SigningKey) -> Envelope {
        guard case .request(let body) = request.body else { preconditionFailure("not a request") }
        return signedEnvelope(
            .result(ResultBody(
                batch: body.batch, index: body.index, request: body.request, answers: request.header.id,
                result: HostResult(host: host, state: state))),
            from: name, origin: request.header.origin, to: request.header.origin, key: key)
    }

    @Test("the origin refuses a result one trusted host signs for another host, audits it, and leaves that host's slot alone")
    func resultForAnotherHostIsRefused() throws {
        // jlore originates; monk1 is driven by hand over a raw link; cluster1 never starts.
        let mesh = try MeshFixture(["jlore", "monk1", "cluster1"])
        defer { mesh.cleanup() }
        try mesh.write("jlore", "delivery.yaml", "provision:\n  - [monk1, cluster1]\n")
        try mesh.directory.write("provision.yaml", "name: forged\nexpires-in: 6\nrequests:\n  - name: provision\n")
        try mesh.start("jlore")
        let monk1 = try KeyFiles.loadPrivateKey(from: NodeHome(mesh.home("monk1")), name: "monk1")
        let keys = KeyRing(keys: ["monk1": monk1.publicKey, "jlore": try PublicKey(text: mesh.keys["jlore"]!)])
        let peer = try RawPeer(port: mesh.ports["jlore"]!)
        #expect(peer.handshake(as: "monk1", key: monk1, with: "jlore", keys: keys) != nil)
        let delivered = cafe(["batch", "deliver", "--home", mesh.home("jlore"), mesh.directory.path + "/provision.yaml"])
        #expect(delivered.status == 0, "\(delivered.stderr)")
        let id = delivered.lastLine
        let request = try #require(next(.request, on: peer, keys: keys), "jlore sends monk1 its request over the link monk1 opened")
        peer.sendFrame(ack(request, as: "monk1", key: monk1))

        let forged = result(request, host: "cluster1", state: .ok, signedBy: "monk1", key: monk1)
        peer.sendFrame(forged.bytes)
        let answer = try #require(next(.ack, on: peer, keys: keys))
        guard case .ack(let body) = answer.body else { Issue.record("not an ack"); return }
        #expect(body.acks == forged.header.id && body.status == .refused, "\(body)")
        let audit = try text(mesh.home("jlore") + "/log/audit.log")
        #expect(audit.contains("deny signer=monk1") && audit.contains("for-host=cluster1"), "\(audit)")

        let status = cafe(["status", "--home", mesh.home("jlore"), id, "--json"])
        #expect(status.status == 0)
        #expect(!status.stdout.contains("\"state\":\"ok\""), "no host is ok after the forged result: \(status.stdout)")

        // monk1's own honest result still counts; cluster1 ends expired, never ok.
        peer.sendFrame(result(request, host: "monk1", state: .ok, signedBy: "monk1", key: monk1).bytes)
        let file = mesh.home("jlore") + "/batches/error/\(id).yaml"
        try mesh.waitUntil("the batch ends in error/", timeout: 20) { FileSystem.exists(file) }
        let batch = try Batch(executedYAML: FileSystem.read(file, maxBytes: 1 << 20), source: file)
        let states = Dictionary(uniqueKeysWithValues: batch.requests[0].records.map { ($0.host, $0.state) })
        #expect(states == ["monk1": .ok, "cluster1": .expired], "\(states)")
        #expect(cafe(["verify", "--home", mesh.home("jlore"), file]).status == 0)
    }

    /// jlore originates to monk1, which the test plays: jlore dials it and the test answers.
    func dialledMesh() throws -> (MeshFixture, SigningKey, KeyRing, batch: String) {
        let mesh = try MeshFixture(["jlore", "monk1"])
        try mesh.write("jlore", "delivery.yaml", "provision:\n  - [monk1]\n")
        try mesh.directory.write("provision.yaml", "name: dialled\nrequests:\n  - name: provision\n")
        try mesh.start("jlore")
        let monk1 = try KeyFiles.loadPrivateKey(from: NodeHome(mesh.home("monk1")), name: "monk1")
        let keys = KeyRing(keys: ["monk1": monk1.publicKey, "jlore": try PublicKey(text: mesh.keys["jlore"]!)])
        let delivered = cafe(["batch", "deliver", "--home", mesh.home("jlore"), mesh.directory.path + "/provision.yaml"])
        return (mesh, monk1, keys, delivered.lastLine)
    }

    @Test("the node that dialled takes a large sealed frame right after the handshake (a result waiting for it, say)")
    func largeFirstFrameToTheDialler() throws {
        let (mesh, monk1, keys, id) = try dialledMesh()
        defer { mesh.cleanup() }
        let peer = try RawPeer(acceptingOn: mesh.ports["monk1"]!)
        #expect(peer.answerHandshake(as: "monk1", key: monk1, keys: keys) == "jlore")
        // At once, before anything else, a frame of several KiB (an ack with a long reason).
        let unknown = EnvelopeID.make(time: SystemClock().now(), random: SystemRandom())
        peer.sendFrame(signedEnvelope(
            .ack(AckBody(acks: unknown, status: .refused, code: .unknownRequest, reason: String(repeating: "x", count: 4096))),
            from: "monk1", to: "jlore", key: monk1).bytes)
        let request = try #require(next(.request, on: peer, keys: keys), "the link stays up and carries the request")
        peer.sendFrame(ack(request, as: "monk1", key: monk1))
        peer.sendFrame(result(request, host: "monk1", state: .ok, signedBy: "monk1", key: monk1).bytes)
        try mesh.waitUntil("the batch is done", timeout: 20) { FileSystem.exists(mesh.home("jlore") + "/batches/done/\(id).yaml") }
        #expect(!mesh.log("jlore").contains("frame length"))
    }

    @Test("a host that answers busy is asked again later, and the batch completes")
    func busyIsAskedAgain() throws {
        let (mesh, monk1, keys, id) = try dialledMesh()
        defer { mesh.cleanup() }
        let peer = try RawPeer(acceptingOn: mesh.ports["monk1"]!)
        #expect(peer.answerHandshake(as: "monk1", key: monk1, keys: keys) == "jlore")
        let first = try #require(next(.request, on: peer, keys: keys))
        peer.sendFrame(ack(first, as: "monk1", key: monk1, status: .refused, code: .busy))
        let again = try #require(next(.request, on: peer, keys: keys, timeout: 20), "the outbox sends it again")
        #expect(again.header.id == first.header.id)
        let status = cafe(["status", "--home", mesh.home("jlore"), id])
        #expect(!status.stdout.contains("failed"), "busy is not a failure: \(status.stdout)")
        peer.sendFrame(ack(again, as: "monk1", key: monk1))
        peer.sendFrame(result(again, host: "monk1", state: .ok, signedBy: "monk1", key: monk1).bytes)
        try mesh.waitUntil("the batch is done", timeout: 20) { FileSystem.exists(mesh.home("jlore") + "/batches/done/\(id).yaml") }
    }

    /// monk1 runs one request at a time; `slow` holds its only slot for 3 s.
    func hostFixture() throws -> (MeshFixture, SigningKey, KeyRing) {
        let mesh = try MeshFixture(["monk1", "tester"], settings: "max-parallel: 1")
        let ran = mesh.directory.path
        try mesh.write("monk1", "commands.yaml", """
            slow:
              - sleep 3; echo slow >> \(ran)/slow.ran
            quick:
              - echo quick >> \(ran)/quick.ran
            """)
        try mesh.write("monk1", "trust.yaml", "tester: {requests: [slow, quick]}\n")
        let key = try KeyFiles.loadPrivateKey(from: NodeHome(mesh.home("tester")), name: "tester")
        let keys = KeyRing(keys: ["tester": key.publicKey, "monk1": try PublicKey(text: mesh.keys["monk1"]!)])
        try mesh.start("monk1")
        return (mesh, key, keys)
    }

    func request(_ name: String, batch: String, expiresIn: Double, key: SigningKey) -> Envelope {
        signedEnvelope(.request(RequestBody(batch: batch, batchName: name, index: 0, request: name)), from: "tester", to: "monk1", expiresIn: expiresIn, key: key)
    }

    /// Sends `envelope` and returns the status of its acknowledgement.
    func deliver(_ envelope: Envelope, on peer: RawPeer, keys: KeyRing) -> AckBody.Status? {
        peer.sendFrame(envelope.bytes)
        guard let answer = next(.ack, on: peer, keys: keys), case .ack(let body) = answer.body else { return nil }
        return body.acks == envelope.header.id ? body.status : nil
    }

    func results(on peer: RawPeer, keys: KeyRing, count: Int) -> [String: HostResult] {
        var found: [String: HostResult] = [:]
        while found.count < count, let envelope = next(.result, on: peer, keys: keys, timeout: 15) {
            if case .result(let body) = envelope.body { found[body.request] = body.result }
        }
        return found
    }

    @Test("a request stored while valid that expires while it waits for a slot is answered expired and never runs")
    func expiresWhileWaiting() throws {
        let (mesh, key, keys) = try hostFixture()
        defer { mesh.cleanup() }
        let peer = try RawPeer(port: mesh.ports["monk1"]!)
        #expect(peer.handshake(as: "tester", key: key, with: "monk1", keys: keys) != nil)
        #expect(deliver(request("slow", batch: "20261202-080000-000-0000000000a1", expiresIn: 600, key: key), on: peer, keys: keys) == .accepted)
        #expect(deliver(request("quick", batch: "20261202-080000-000-0000000000a2", expiresIn: 1.5, key: key), on: peer, keys: keys) == .accepted)
        let found = results(on: peer, keys: keys, count: 2)
        #expect(found["slow"]?.state == .ok)
        #expect(found["quick"]?.state == .expired, "\(String(describing: found["quick"]))")
        #expect(lineCount(mesh.directory.path + "/quick.ran") == 0, "the expired request never ran")
    }

    @Test("a request stored while valid that expires while its node is down is answered expired after the restart and never runs")
    func expiresWhileNodeIsDown() throws {
        let (mesh, key, keys) = try hostFixture()
        defer { mesh.cleanup() }
        let quick = request("quick", batch: "20261202-080000-000-0000000000b2", expiresIn: 1.5, key: key)
        do {
            let peer = try RawPeer(port: mesh.ports["monk1"]!)
            #expect(peer.handshake(as: "tester", key: key, with: "monk1", keys: keys) != nil)
            #expect(deliver(request("slow", batch: "20261202-080000-000-0000000000b1", expiresIn: 600, key: key), on: peer, keys: keys) == .accepted)
            #expect(deliver(quick, on: peer, keys: keys) == .accepted)
        }
        // Stored, acknowledged, waiting behind `slow`: the node dies, and comes back once the
        // request's own expiry has passed (a host runs nothing whose `expires` is not after now).
        mesh.kill9("monk1")
        try mesh.waitUntil("quick's expiry \(quick.header.expires) has passed", timeout: 10) { SystemClock().now() >= quick.header.expires }
        try mesh.start("monk1")
        let peer = try RawPeer(port: mesh.ports["monk1"]!)
        #expect(peer.handshake(as: "tester", key: key, with: "monk1", keys: keys) != nil)
        let found = results(on: peer, keys: keys, count: 2)
        #expect(found["slow"]?.state == .failed, "interrupted by the kill, not run again")
        #expect(found["quick"]?.state == .expired, "\(String(describing: found["quick"]))")
        #expect(lineCount(mesh.directory.path + "/quick.ran") == 0, "the expired request never ran")
        #expect(lineCount(mesh.directory.path + "/slow.ran") == 0, "the interrupted request did not run again")
    }
}
