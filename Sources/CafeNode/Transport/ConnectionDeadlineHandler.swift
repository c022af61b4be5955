import NIOCore

/// Sent down a connection's pipeline (`fireUserInboundEventTriggered`) when its link handshake
/// has completed.
struct LinkEstablished: Sendable {}

/// Closes a connection whose link handshake has not completed within `handshake` (see
/// ``LinkEstablished``), or that NIO's `IdleStateHandler` (before it in the pipeline) reports
/// idle: nothing read or written for the idle timeout. A connection that never speaks, or
/// speaks only part of a handshake, cannot hold resources.
final class ConnectionDeadlineHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let handshake: TimeAmount
    private let idle: TimeAmount
    private var handshakeTimer: Scheduled<Void>?
    private let onTimeout: @Sendable (String) -> Void

    /// `idle` is the `IdleStateHandler`'s timeout, for the log line.
    init(handshake: TimeAmount, idle: TimeAmount, onTimeout: @escaping @Sendable (String) -> Void) {
        self.handshake = handshake
        self.idle = idle
        self.onTimeout = onTimeout
    }

    /// The handlers a connection needs for both deadlines, in pipeline order.
    static func handlers(handshake: TimeAmount, idle: TimeAmount, onTimeout: @escaping @Sendable (String) -> Void) -> [any ChannelHandler] {
        [IdleStateHandler(allTimeout: idle), ConnectionDeadlineHandler(handshake: handshake, idle: idle, onTimeout: onTimeout)]
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let onTimeout = self.onTimeout
        let seconds = Self.seconds(handshake)
        handshakeTimer = context.eventLoop.scheduleTask(in: handshake) {
            onTimeout("no handshake within \(seconds) s")
            loopBound.value.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        handshakeTimer?.cancel()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is LinkEstablished:
            handshakeTimer?.cancel()
            handshakeTimer = nil
        case let idleEvent as IdleStateHandler.IdleStateEvent where idleEvent == .all:
            onTimeout("idle for \(Self.seconds(idle)) s")
            context.close(promise: nil)
            return
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    private static func seconds(_ amount: TimeAmount) -> Double { Double(amount.nanoseconds) / 1e9 }
}
