import NIOCore

/// Sent down a connection's pipeline (`fireUserInboundEventTriggered`) when its link handshake
/// has completed.
struct LinkEstablished: Sendable {}

/// Closes a connection whose link handshake has not completed within `handshake` (see
/// ``LinkEstablished``), or on which nothing is read or written for `idle`. A connection that
/// never speaks, or speaks only part of a handshake, cannot hold resources.
final class ConnectionTimeoutHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let handshake: TimeAmount
    private let idle: TimeAmount
    private var handshakeTimer: Scheduled<Void>?
    private var idleTimer: Scheduled<Void>?
    private let onTimeout: @Sendable (String) -> Void

    init(handshake: TimeAmount, idle: TimeAmount, onTimeout: @escaping @Sendable (String) -> Void) {
        self.handshake = handshake
        self.idle = idle
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        handshakeTimer = closing(context, after: handshake, because: "no handshake within")
        resetIdle(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        handshakeTimer?.cancel()
        idleTimer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        resetIdle(context: context)
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is LinkEstablished {
            handshakeTimer?.cancel()
            handshakeTimer = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        resetIdle(context: context)
        context.write(data, promise: promise)
    }

    private func resetIdle(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = closing(context, after: idle, because: "idle for")
    }

    /// Closes the connection after `delay`, saying why ("REASON N s").
    private func closing(_ context: ChannelHandlerContext, after delay: TimeAmount, because reason: String) -> Scheduled<Void> {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let onTimeout = self.onTimeout
        let seconds = Double(delay.nanoseconds) / 1e9
        return context.eventLoop.scheduleTask(in: delay) {
            onTimeout("\(reason) \(seconds) s")
            loopBound.value.close(promise: nil)
        }
    }
}
