import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import CafeNode

/// The two deadlines of a connection, on an embedded channel with a manual clock: a handshake
/// that does not complete in time, and a link with nothing read or written for the idle time.
@Suite("connection deadlines")
struct ConnectionDeadlineTests {
    /// A channel with both handlers and the reasons they gave for closing it.
    func channel() throws -> (EmbeddedChannel, NIOLockedValueBox<[String]>) {
        let reasons = NIOLockedValueBox<[String]>([])
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers(
            ConnectionDeadlineHandler.handlers(handshake: .seconds(10), idle: .seconds(300)) { reason in
                reasons.withLockedValue { $0.append(reason) }
            })
        try channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 7400)).wait()
        return (channel, reasons)
    }

    @Test("a handshake that does not complete within the deadline closes the connection, even while frames arrive")
    func handshakeDeadline() throws {
        let (channel, reasons) = try channel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        try channel.writeInbound(ByteBuffer(bytes: [1, 2, 3]))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(!channel.isActive)
        #expect(reasons.withLockedValue { $0 } == ["no handshake within 10.0 s"])
    }

    @Test("a completed handshake stops the deadline; then only NIO's idle event closes the link")
    func idleAfterHandshake() throws {
        let (channel, reasons) = try channel()
        channel.pipeline.fireUserInboundEventTriggered(LinkEstablished())
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(channel.isActive, "the handshake deadline no longer applies")
        // IdleStateHandler measures idleness on the real clock, not the embedded loop's, so its
        // event is fired here as it would fire it after 300 s without a frame either way.
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        #expect(channel.isActive, "only silence both ways counts")
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.all)
        #expect(!channel.isActive)
        #expect(reasons.withLockedValue { $0 } == ["idle for 300.0 s"])
    }
}
