import CafeWire
import NIOCore
import NIOEmbedded
import Testing

@Suite("frame codec on an embedded channel")
struct FrameDecoderTests {
    func channel(max: Int = 1024, first: Int? = nil) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameBytes: max, firstFrameMaxBytes: first)))
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
        return channel
    }

    @Test("frames split across reads and several frames in one read come out whole")
    func splitAndJoined() throws {
        let channel = try channel()
        var input = ByteBuffer()
        input.writeInteger(UInt32(5))
        input.writeString("hel")
        try channel.writeInbound(input)
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
        var rest = ByteBuffer()
        rest.writeString("lo")
        rest.writeInteger(UInt32(2))
        rest.writeString("ok")
        try channel.writeInbound(rest)
        #expect(try channel.readInbound(as: ByteBuffer.self).map { String(buffer: $0) } == "hello")
        #expect(try channel.readInbound(as: ByteBuffer.self).map { String(buffer: $0) } == "ok")
        #expect(try channel.finish().isClean)
    }

    @Test("an oversized or zero length is refused before the frame is buffered")
    func badLengths() throws {
        for length in [UInt32(0), 1025, 0xFFFF_FFFF] {
            let channel = try channel()
            var input = ByteBuffer()
            input.writeInteger(length)
            #expect(throws: FrameError.badLength(Int(length), max: 1024)) { try channel.writeInbound(input) }
        }
    }

    @Test("the first frame has its own, smaller limit")
    func firstFrameLimit() throws {
        let channel = try channel(max: 1024, first: 8)
        var input = ByteBuffer()
        input.writeInteger(UInt32(9))
        #expect(throws: FrameError.badLength(9, max: 8)) { try channel.writeInbound(input) }
        let ok = try self.channel(max: 1024, first: 8)
        var frames = ByteBuffer()
        frames.writeInteger(UInt32(1))
        frames.writeString("a")
        frames.writeInteger(UInt32(100))
        frames.writeBytes([UInt8](repeating: 1, count: 100))
        try ok.writeInbound(frames)
        #expect(try ok.readInbound(as: ByteBuffer.self)?.readableBytes == 1)
        #expect(try ok.readInbound(as: ByteBuffer.self)?.readableBytes == 100)
    }

    @Test("a connection closed in the middle of a frame is an error, not a frame")
    func truncated() throws {
        let channel = try channel()
        var input = ByteBuffer()
        input.writeInteger(UInt32(10))
        input.writeString("abc")
        try channel.writeInbound(input)
        #expect(throws: FrameError.truncated(7)) { _ = try channel.finish() }
    }

    @Test("outgoing frames get their length prefix")
    func encoder() throws {
        let channel = try channel()
        try channel.writeOutbound(ByteBuffer(string: "abc"))
        var out = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(out.readInteger(as: UInt32.self) == 3)
        #expect(out.readString(length: 3) == "abc")
    }
}
