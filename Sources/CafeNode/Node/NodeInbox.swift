import CafeCore
import CafeWire
import Logging

/// What transports hand the node: envelopes that arrived and peers that became reachable, as
/// one `AsyncStream` the ``Node`` consumes (``Node/run()``). Made before the node and its
/// transports, so that neither needs the other to exist first.
///
/// An envelope is verified and decoded in the caller's task, before it enters the stream: the
/// work whose cost grows with the input runs on the connection's task, in parallel, never on
/// the node's. ``hand(_:from:handled:)`` returns as soon as the envelope is queued, and says
/// when it has been handled, so that a link can keep a bounded number of envelopes waiting
/// (``LinkWindow``): envelopes that arrive together are then handled together, one group of
/// writes.
public struct NodeInbox: Sendable {
    let continuation: AsyncStream<NodeInput>.Continuation
    let current: CurrentIdentity
    let logger: Logger

    /// A new inbox and the stream the node reads.
    public static func make(identity: CurrentIdentity, logger: Logger) -> (NodeInbox, AsyncStream<NodeInput>) {
        let (stream, continuation) = AsyncStream<NodeInput>.makeStream()
        return (NodeInbox(continuation: continuation, current: identity, logger: logger), stream)
    }

    /// Bytes from `peer` (the neighbour they came from), verified here and queued for the node;
    /// `handled` is called once the node has handled them. Envelopes that do not verify are
    /// logged and counted, and go no further (`handled` is called at once, as when the node has
    /// stopped). Envelopes handed one after another are handled in that order.
    public func hand(_ bytes: [UInt8], from peer: String, handled: @escaping @Sendable () -> Void) {
        guard let opened = Self.open(bytes, source: "envelope from \(peer)", peer: peer, keys: current.identity.keys, logger: logger) else {
            return handled()
        }
        if case .terminated = continuation.yield(NodeInput(event: .envelope(opened, from: peer), done: handled)) { handled() }
    }

    /// A link to `peer` is up: what waits for it goes now.
    public func reachable(_ peer: String) async {
        await withCheckedContinuation { done in
            if case .terminated = continuation.yield(NodeInput(event: .reachable(peer), done: { done.resume() })) { done.resume() }
        }
    }

    /// No more input: the node's ``Node/run()`` returns.
    public func finish() { continuation.finish() }

    /// `bytes` verified and decoded, or nil (logged and counted) when they do not verify.
    static func open(_ bytes: [UInt8], source: String, peer: String, keys: KeyRing, logger: Logger) -> OpenedEnvelope? {
        do {
            return OpenedEnvelope(try Envelope.open(bytes, keys: keys, source: source), keys: keys)
        } catch {
            logger.warning("refused envelope", metadata: ["peer": "\(peer)", "reason": "\(error)"])
            NodeMetrics.refused((error as? EnvelopeError)?.reason.rawValue ?? "malformed")
            return nil
        }
    }
}

/// One input of a node: the event, and who waits until it has been handled.
public struct NodeInput: Sendable {
    let event: NodeEvent
    /// Called once the node has handled the event.
    let done: (@Sendable () -> Void)?
}
