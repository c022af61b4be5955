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
    func channel(idle: TimeAmount = .seconds(300), after: [any ChannelHandler] = []) throws -> (EmbeddedChannel, NIOLockedValueBox<[String]>) {
        let reasons = NIOLockedValueBox<[String]>([])
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers(
            ConnectionDeadlineHandler.handlers(handshake: .seconds(10), idle: idle) { reason in
                reasons.withLockedValue { $0.append(reason) }
            } + after)
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

    @Test("the handlers of a connection: NIO's IdleStateHandler, both directions together at the idle time, then the deadlines")
    func handlers() throws {
        let handlers = ConnectionDeadlineHandler.handlers(handshake: .seconds(10), idle: .seconds(300)) { _ in }
        let idle = try #require(handlers.first as? IdleStateHandler)
        #expect(idle.allTimeout == .seconds(300) && idle.readTimeout == nil && idle.writeTimeout == nil)
        #expect(handlers.count == 2 && handlers.last is ConnectionDeadlineHandler)
    }

    @Test("a connection that closes before its handshake deadline leaves no timer behind: nothing is reported later")
    func closedBeforeDeadline() throws {
        let (channel, reasons) = try channel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        try channel.close().wait()
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(reasons.withLockedValue { $0 }.isEmpty)
    }

    @Test("the deadline fires once, exactly at the handshake time, not a tick before")
    func exactlyAtDeadline() throws {
        let (channel, reasons) = try channel()
        channel.embeddedEventLoop.advanceTime(by: .nanoseconds(TimeAmount.seconds(10).nanoseconds - 1))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .nanoseconds(1))
        #expect(!channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(reasons.withLockedValue { $0 } == ["no handshake within 10.0 s"])
    }

    @Test("events go on to the handlers after it: the link's establishment and one-way idleness; the close on idleness does not")
    func eventsPassOn() throws {
        let seen = EventRecorder()
        let (channel, _) = try channel(after: [seen])
        channel.pipeline.fireUserInboundEventTriggered(LinkEstablished())
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.write)
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.all)
        #expect(seen.events.withLockedValue { $0 } == ["LinkEstablished()", "write"])
        #expect(!channel.isActive)
    }

    @Test("with NIO's own IdleStateHandler in place, an established link that stays silent is closed at the idle time")
    func realIdleHandler() throws {
        let idle = TimeAmount.milliseconds(50)
        let (channel, reasons) = try channel(idle: idle)
        channel.pipeline.fireUserInboundEventTriggered(LinkEstablished())
        channel.embeddedEventLoop.advanceTime(by: idle - .nanoseconds(1))
        #expect(channel.isActive, "no idle check has run yet")
        // IdleStateHandler reads the real clock and schedules its later checks at real instants:
        // the embedded loop follows the real clock from here on (the handshake deadline is gone),
        // running each check when it falls due, until one finds the link silent for 50 ms.
        try waitUntil("the silent link is closed as idle", timeout: 10) {
            channel.embeddedEventLoop.advanceTime(to: .now())
            return !channel.isActive
        }
        #expect(reasons.withLockedValue { $0 } == ["idle for 0.05 s"])
    }
}

/// Records the user events that reach it, by description.
final class EventRecorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let events = NIOLockedValueBox<[String]>([])

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        events.withLockedValue { $0.append("\(event)") }
        context.fireUserInboundEventTriggered(event)
    }
}
