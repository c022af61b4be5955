import CafeCore
import CafeTestSupport
import CafeWire
import Glibc
import NIOCore
import NIOEmbedded
import Testing

@testable import CafeNode

/// `cafe`'s end of the control socket against a fake node that writes chosen bytes: the client
/// frames with the node's own decoder (same limit, same errors) and turns a bad answer into
/// one clear error, never a hang, a crash or a silent end.
@Suite("control client")
struct ControlClientTests {
    /// A listening control socket in a fresh home; one accepted connection at a time.
    final class FakeNode {
        let directory = TemporaryDirectory("cafe-ctl")
        let home: NodeHome
        let listener: Int32

        init() throws {
            home = NodeHome(directory.path)
            try FileSystem.makeDirectory(home.runDirectory)
            listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let path = Array(home.controlSocket.utf8)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                raw.copyBytes(from: path)
                raw[path.count] = 0
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0, listen(listener, 4) == 0 else { throw EnvironmentError("cannot listen on \(home.controlSocket)") }
        }

        /// A client connected to this node (the connection waits in the backlog) to which the
        /// node has written `answer` and then closed the connection.
        func connect(answer: [UInt8]) throws -> ControlClient {
            let client = try ControlClient(home: home)
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { throw EnvironmentError("accept failed") }
            defer { close(connection) }
            let written = answer.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
            guard written == answer.count else { throw EnvironmentError("short write to the client") }
            return client
        }

        deinit {
            close(listener)
            directory.cleanup()
        }
    }

    static func header(_ length: UInt32) -> [UInt8] { withUnsafeBytes(of: length.bigEndian, Array.init) }

    /// What the node's own pipeline (its control socket's decoder) makes of `bytes` followed by
    /// the end of the connection: its frames, or the error it closes the connection with.
    static func nodeDecodes(_ bytes: [UInt8]) -> (frames: Int, error: FrameError?) {
        let channel = EmbeddedChannel()
        var frames = 0
        do {
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ControlServer.frameDecoder()))
            try channel.writeInbound(ByteBuffer(bytes: bytes))
            while try channel.readInbound(as: ByteBuffer.self) != nil { frames += 1 }
            _ = try channel.finish()
        } catch let error as FrameError {
            return (frames, error)
        } catch {
            Issue.record("unexpected \(error)")
        }
        return (frames, nil)
    }

    @Test("events in whole frames are read in order; the end of the connection between frames is the end")
    func wellFormed() throws {
        let node = try FakeNode()
        let events: [ControlEvent] = [.accepted(batch: "20261202-100000-000-9f2c1a7be301"), .finished(state: .done, path: "/x.yaml")]
        let client = try node.connect(answer: events.flatMap { FrameEncoder.frame($0.yaml) })
        #expect(try client.next() == events[0])
        #expect(try client.next() == events[1])
        #expect(try client.next() == nil)
    }

    @Test("a frame length of zero or over the node's limit, or a frame cut short, is refused as the node refuses it", arguments: [
        header(0),
        // The node refuses this length before any of the frame arrives; a client that waited for
        // the 64 MiB announced would see the end of the connection instead (`truncated`).
        header(UInt32(ControlServer.maxFrameBytes + 1)),
        header(UInt32.max) + Array("event: accepted\n".utf8),
        header(10) + Array("abc".utf8),
        FrameEncoder.frame(ControlEvent.accepted(batch: "b").yaml) + [0, 0],
    ])
    func badFrames(_ bytes: [UInt8]) throws {
        let node = try FakeNode()
        let client = try node.connect(answer: bytes)
        let nodeSays = Self.nodeDecodes(bytes)
        let expected = try #require(nodeSays.error, "the node's decoder refuses these bytes too")
        for _ in 0..<nodeSays.frames { _ = try client.next() }
        let error = #expect(throws: UnreadableAnswer.self) { try client.next() }
        #expect(error?.reason as? FrameError == expected, "the client refuses with the node's own error: \(String(describing: error))")
        #expect(error?.exitStatus == 3)
        #expect(error.map { "\($0)" }?.hasPrefix("cannot read cafe-node's answer on the control socket: \(expected)") == true)
    }

    @Test("a whole frame that is not an event is refused with the event reader's reason")
    func notAnEvent() throws {
        let node = try FakeNode()
        let client = try node.connect(answer: FrameEncoder.frame(Array("event: sideways\n".utf8)))
        let error = #expect(throws: UnreadableAnswer.self) { try client.next() }
        #expect(error?.reason is InputError)
        #expect(error.map { "\($0)" }?.contains("control event:1:") == true)
        #expect(error.map { "\($0)" }?.contains("unknown event 'sideways'") == true, "\(String(describing: error))")
    }
}
