import CafeCore
import CafeCrypto
import CafeNode
import CafeWire
import Glibc
import Testing

@Suite("hostile peers and duplicate deliveries", .serialized)
struct HostileAndDuplicateTests {
    /// monk1 (started) and tester (a key only, driven by hand), trusted by monk1.
    func fixture() throws -> (MeshFixture, SigningKey, KeyRing) {
        let mesh = try MeshFixture(["monk1", "tester"], settings: "handshake-timeout: 1")
        try mesh.write("monk1", "commands.yaml", "count:\n  - echo ran >> \(mesh.directory.path)/count.ran; echo counted\n")
        try mesh.write("monk1", "trust.yaml", "tester: {requests: [count]}\n")
        let key = try KeyFiles.loadPrivateKey(from: NodeHome(mesh.home("tester")), name: "tester")
        let keys = KeyRing(keys: ["tester": key.publicKey, "monk1": try PublicKey(text: mesh.keys["monk1"]!)])
        try mesh.start("monk1")
        return (mesh, key, keys)
    }

    func request(
        _ key: SigningKey, batch: String = "20261129-153012-000-0000000000aa", name: String = "count", data: [RequestData.Field] = []
    ) -> Envelope {
        signedEnvelope(.request(RequestBody(batch: batch, batchName: "dup", index: 0, request: name, data: data)), from: "tester", to: "monk1", key: key)
    }

    @Test("a signed request with 12,000 data keys is answered at once, and the node answers cafe status meanwhile")
    func manyDataKeys() throws {
        let (mesh, key, keys) = try fixture()
        defer { mesh.cleanup() }
        let peer = try RawPeer(port: mesh.ports["monk1"]!)
        #expect(peer.handshake(as: "tester", key: key, with: "monk1", keys: keys) != nil)
        let data = (0..<12_000).map { RequestData.Field(key: "key\($0)", value: "value \($0)") }
        let envelope = request(key, batch: "20261202-090000-000-0000000000c1", data: data)
        #expect(envelope.bytes.count > 180_000)
        peer.sendFrame(envelope.bytes)
        #expect(cafe(["status", "--home", mesh.home("monk1")], timeout: 10).status == 0, "the node's actor is not held by the parse")
        var result: ResultBody?
        while result == nil, let frame = peer.readFrame(timeout: 10) {
            if case .result(let body) = try Envelope.open(frame, keys: keys).body { result = body }
        }
        #expect(result?.result.state == .ok, "answered within seconds, not minutes")
        #expect(lineCount(mesh.directory.path + "/count.ran") == 1)
    }

    @Test("requests trust.yaml denies are answered denied and never stored; past the quota of waiting answers they are refused busy")
    func deniedRequestsAreNotStored() throws {
        let (mesh, key, keys) = try fixture()
        defer { mesh.cleanup() }
        let peer = try RawPeer(port: mesh.ports["monk1"]!)
        #expect(peer.handshake(as: "tester", key: key, with: "monk1", keys: keys) != nil)
        // The answers are never acknowledged, so they all wait in monk1's outbox.
        let total = 1_010
        var first: Envelope?
        for index in 0..<total {
            let hex = String(0xd000 + index, radix: 16)
            let batch = "20261202-090000-000-" + String(repeating: "0", count: 12 - hex.count) + hex
            let envelope = request(key, batch: batch, name: "forbidden")
            first = first ?? envelope
            peer.sendFrame(envelope.bytes)
        }
        var denied = 0, busy = 0, accepted = 0
        while accepted + busy < total, let frame = peer.readFrame(timeout: 20) {
            switch try Envelope.open(frame, keys: keys).body {
            case .result(let body): if body.result.state == .denied { denied += 1 }
            case .ack(let body):
                if body.status == .accepted { accepted += 1 }
                if body.status == .refused && body.code == .busy { busy += 1 }
            default: break
            }
        }
        #expect(accepted == 1_000 && busy == 10, "accepted \(accepted), busy \(busy)")
        #expect(denied > 0)
        // The same denied request again: a duplicate, answered by the denial already sent.
        let repeated = try #require(first)
        peer.sendFrame(repeated.bytes)
        var repeatedStatus: AckBody.Status?
        while repeatedStatus == nil, let frame = peer.readFrame(timeout: 20) {
            if case .ack(let body) = try Envelope.open(frame, keys: keys).body, body.acks == repeated.header.id { repeatedStatus = body.status }
        }
        #expect(repeatedStatus == .duplicate)
        let stored = try spooledRequests(mesh.home("monk1")).keys
        #expect(stored.isEmpty, "no denied request takes spool space: \(stored.prefix(3))")
        #expect(lineCount(mesh.directory.path + "/count.ran") == 0)
        let audit = String(decoding: try FileSystem.read(mesh.home("monk1") + "/log/audit.log", maxBytes: 16 << 20), as: UTF8.self)
        #expect(audit.contains("deny signer=tester action=\"request forbidden\""))
    }

    func ack(_ frame: [UInt8]?, keys: KeyRing) -> AckBody? {
        guard let frame, let envelope = try? Envelope.open(frame, keys: keys), case .ack(let body) = envelope.body else { return nil }
        return body
    }

    @Test("a duplicate delivery, on the same link or after a reconnect, runs once and is answered from the spool")
    func duplicateRunsOnce() throws {
        let (mesh, key, keys) = try fixture()
        defer { mesh.cleanup() }
        let port = mesh.ports["monk1"]!
        let peer = try RawPeer(port: port)
        #expect(peer.handshake(as: "tester", key: key, with: "monk1", keys: keys) == "monk1")
        let envelope = request(key)
        peer.sendFrame(envelope.bytes)
        peer.sendFrame(envelope.bytes)
        var acks: [AckBody.Status] = []
        var results: [ResultBody] = []
        while acks.count < 2 || results.isEmpty, let frame = peer.readFrame(timeout: 10) {
            let opened = try Envelope.open(frame, keys: keys)
            switch opened.body {
            case .ack(let body): acks.append(body.status)
            case .result(let body): results.append(body)
            default: break
            }
        }
        #expect(acks.sorted { $0.rawValue < $1.rawValue } == [.accepted, .duplicate])
        #expect(results.first?.result.state == .ok)
        #expect(results.first?.answers == envelope.header.id)
        // A new link, the same request under a new envelope id: still not run again.
        let again = try RawPeer(port: port)
        #expect(again.handshake(as: "tester", key: key, with: "monk1", keys: keys) != nil)
        again.sendFrame(request(key).bytes)
        var sawDuplicate = false
        while !sawDuplicate, let frame = again.readFrame(timeout: 10) {
            sawDuplicate = ack(frame, keys: keys)?.status == .duplicate
        }
        #expect(sawDuplicate)
        #expect(lineCount(mesh.directory.path + "/count.ran") == 1)
    }

    @Test("a relay that flips a byte of what it carries is caught by the end-to-end signature")
    func tamperingRelay() throws {
        let (mesh, key, keys) = try fixture()
        defer { mesh.cleanup() }
        let peer = try RawPeer(port: mesh.ports["monk1"]!)
        #expect(peer.handshake(as: "tester", key: key, with: "monk1", keys: keys) != nil)
        func forward(_ inner: String) -> [UInt8] {
            signedEnvelope(.forward(ForwardBody(path: ["tester"], envelope: inner)), from: "tester", to: "monk1", expiresIn: 60, key: key).bytes
        }
        let batch = "20261129-153012-000-0000000000dd"
        peer.sendFrame(forward(request(key, batch: batch).text.replacing("batch-name: dup", with: "batch-name: dip")))
        try mesh.waitUntil("monk1 refused the altered copy", timeout: 10) { mesh.log("monk1").contains("refused forwarded envelope: bad signature") }
        #expect(lineCount(mesh.directory.path + "/count.ran") == 0, "the altered request does not run")
        // An intact request (its own envelope id) for the same batch and index: had monk1 taken
        // the altered copy, it would answer this one `duplicate` from its spool, not run it.
        let honest = request(key, batch: batch)
        peer.sendFrame(forward(honest.text))
        var status: AckBody.Status?
        var result: ResultBody?
        while status == nil || result == nil, let envelope = try peer.readFrame(timeout: 10).map({ try Envelope.open($0, keys: keys) }) {
            switch envelope.body {
            case .ack(let body) where body.acks == honest.header.id: status = body.status
            case .result(let body) where body.answers == honest.header.id: result = body
            default: break
            }
        }
        #expect(status == .accepted, "the intact copy is new to monk1")
        #expect(result?.result.state == .ok)
        #expect(lineCount(mesh.directory.path + "/count.ran") == 1, "only the intact copy ran")
    }

    @Test("garbage, oversized lengths, half frames, silence, unknown keys and replayed hellos are refused; the node carries on")
    func hostileBytes() throws {
        let (mesh, key, keys) = try fixture()
        defer { mesh.cleanup() }
        let port = mesh.ports["monk1"]!
        let garbage = try RawPeer(port: port)
        garbage.sendRaw((0..<64).map { UInt8(truncatingIfNeeded: $0 &* 97) })
        #expect(garbage.closedByPeer(within: 5))
        let oversized = try RawPeer(port: port)
        oversized.sendRaw([0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3])
        #expect(oversized.closedByPeer(within: 5))
        do {
            let half = try RawPeer(port: port)
            half.sendRaw([0, 0, 3, 232] + [UInt8](repeating: 65, count: 10))
        }
        let silent = try RawPeer(port: port)
        #expect(silent.closedByPeer(within: 5), "a connection that never speaks is closed after the handshake timeout")
        let stranger = try SigningKey.generate()
        let impostor = try RawPeer(port: port)
        #expect(impostor.handshake(as: "tester", key: stranger, with: "monk1", keys: keys) == nil)
        #expect(impostor.closedByPeer(within: 5))
        let unknown = try RawPeer(port: port)
        #expect(unknown.handshake(as: "mallory", key: stranger, with: "monk1", keys: keys) == nil)
        #expect(unknown.closedByPeer(within: 5))
        // A recorded handshake replayed on a second connection gets no link: monk1's answer
        // holds fresh randomness, which the recorded third message does not cover.
        let first = try RawPeer(port: port)
        #expect(first.handshake(as: "tester", key: key, with: "monk1", keys: keys) == "monk1")
        let replay = try RawPeer(port: port)
        replay.sendRawFrame(first.transcript[0])
        #expect(replay.readRawFrame() != nil)
        replay.sendRawFrame(first.transcript[2])
        #expect(replay.readRawFrame(timeout: 3) == nil, "no stream header: the link never opens")
        #expect(replay.closedByPeer(within: 5))
        // After all that, honest work still goes through.
        let honest = try RawPeer(port: port)
        #expect(honest.handshake(as: "tester", key: key, with: "monk1", keys: keys) != nil)
        honest.sendFrame(request(key, batch: "20261129-153012-000-0000000000bb").bytes)
        var result: ResultBody?
        while result == nil, let frame = honest.readFrame(timeout: 10) {
            if case .result(let body) = try Envelope.open(frame, keys: keys).body { result = body }
        }
        #expect(result?.result.state == .ok)
        #expect(mesh.processes["monk1"]?.isRunning == true)
        let log = mesh.log("monk1")
        for reason in ["frame length", "no handshake within 1", "bad signature", "unknown signer", "replayed"] {
            #expect(log.contains(reason), "the log names the reason '\(reason)'")
        }
    }
}
