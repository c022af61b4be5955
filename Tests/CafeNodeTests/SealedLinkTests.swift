import CafeCore
import CafeCrypto
import CafeNode
import Glibc
import Testing

/// Sealed links between real nodes, seen from the path between them.
@Suite("sealed links between real nodes", .serialized)
struct SealedLinkTests {
    /// jlore and monk1, each reaching the other only through a tap that records every byte.
    func tappedMesh() throws -> (MeshFixture, toMonk1: TapProxy, toJlore: TapProxy) {
        let mesh = try MeshFixture(["jlore", "monk1"])
        let toMonk1 = try TapProxy(to: mesh.ports["monk1"]!)
        let toJlore = try TapProxy(to: mesh.ports["jlore"]!)
        try mesh.rewritePeer("jlore", peer: "monk1", route: "address: 127.0.0.1:\(toMonk1.port)")
        try mesh.rewritePeer("monk1", peer: "jlore", route: "address: 127.0.0.1:\(toJlore.port)")
        try mesh.write("jlore", "delivery.yaml", "provision:\n  - [monk1]\n")
        try mesh.write("monk1", "trust.yaml", "jlore: {requests: [provision]}\n")
        try mesh.write("monk1", "commands.yaml", """
            provision:
              - echo "OUTPUT-MARKER for $CAFE_DATA_NOTE"
              - ["sh", "-c", "grep -c SECRET-MARKER"]
            """)
        try mesh.directory.write("tapped.yaml", """
            name: tapped-batch
            requests:
              - name: provision
                data: {note: DATA-MARKER-4711, pw: SECRET-MARKER-0815}
                secrets: [pw]
            """)
        try mesh.startAll()
        return (mesh, toMonk1, toJlore)
    }

    func runBatch(_ mesh: MeshFixture) -> Run {
        cafe(["batch", "run", "--home", mesh.home("jlore"), "--timeout", "20", mesh.directory.path + "/tapped.yaml"])
    }

    @Test("a tap between two sites sees no data, no output, no secret, no host name and no request name")
    func tap() throws {
        let (mesh, toMonk1, toJlore) = try tappedMesh()
        defer {
            toMonk1.stop()
            toJlore.stop()
            mesh.cleanup()
        }
        let run = runBatch(mesh)
        #expect(run.status == 0, "\(run.stderr)")
        let executed = try FileSystem.read(run.lastLine, maxBytes: 1 << 20)
        #expect(executed.contains("OUTPUT-MARKER for DATA-MARKER-4711"), "the markers crossed the tapped link")
        let capture = toMonk1.allBytes + toJlore.allBytes
        #expect(capture.count > 1000, "the tap saw the batch go by (\(capture.count) bytes)")
        for word in ["DATA-MARKER", "OUTPUT-MARKER", "SECRET-MARKER", "jlore", "monk1", "provision", "tapped-batch", "envelope", "kind:"] {
            #expect(!capture.contains(word), "'\(word)' crossed the wire in clear")
        }
        #expect(mesh.log("jlore").contains("link up (sealed)"))
    }

    @Test("a recorded handshake replayed after the peer restarted gets no link; batches to the real peer still complete")
    func replayAfterRestart() throws {
        let (mesh, toMonk1, toJlore) = try tappedMesh()
        defer {
            toMonk1.stop()
            toJlore.stop()
            mesh.cleanup()
        }
        #expect(runBatch(mesh).status == 0)
        let recorded = try #require(toMonk1.connections.first?.toTarget)
        let frames = Self.frames(recorded)
        #expect(frames.count >= 3, "message 1, message 3 and the stream header at least")
        #expect(mesh.stop("monk1") == 0)
        try mesh.start("monk1")
        let attacker = try RawPeer(port: mesh.ports["monk1"]!)
        attacker.sendRawFrame(frames[0])
        #expect(attacker.readRawFrame() != nil, "monk1 answers message 1 with a fresh message 2")
        for frame in frames.dropFirst() { attacker.sendRawFrame(frame) }
        #expect(attacker.readRawFrame(timeout: 3) == nil, "no stream header: the replay gets no link")
        #expect(attacker.closedByPeer(within: 5))
        try mesh.waitUntil("monk1 logs why it closed the connection", timeout: 5) {
            mesh.log("monk1").contains("the handshake was altered, replayed")
        }
        let again = runBatch(mesh)
        #expect(again.status == 0, "the real jlore still gets through: \(again.stderr)")
    }

    /// The length-prefixed frames of a recorded byte stream.
    static func frames(_ bytes: [UInt8]) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        var position = 0
        while position + 4 <= bytes.count {
            let length = bytes[position..<(position + 4)].reduce(0) { $0 << 8 | Int($1) }
            guard position + 4 + length <= bytes.count else { break }
            frames.append(Array(bytes[(position + 4)..<(position + 4 + length)]))
            position += 4 + length
        }
        return frames
    }
}
