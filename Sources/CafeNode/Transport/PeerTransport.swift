/// How the node hands envelopes to its neighbours: ``TransportSet`` sends by TCP
/// (``TCPNetwork``) or by drop-box (``ScpTransport``) according to the peer's route.
///
/// Incoming envelopes go the other way, into the ``NodeInbox`` (``NodeInbox/hand(_:from:handled:)``),
/// and a peer that becomes reachable is announced with ``NodeInbox/reachable(_:)`` so that its
/// outbox is flushed.
public protocol PeerTransport: Sendable {
    /// Queues `bytes` on a live link to `peer` and returns true; returns false when there is
    /// none right now (the transport starts connecting, and the node keeps the envelope in its
    /// outbox until the peer is reachable).
    func send(_ bytes: [UInt8], to peer: String) -> Bool

    /// The configuration of these peers changed (removed, new key or new route): links to them
    /// made under the old configuration are closed, and they are dialled afresh when needed.
    func peersChanged(_ peers: Set<String>)

    /// Opens a link to `peer` if none is up, so that it proves its key (a peer with no `key:`
    /// in node.yaml presents its fleet certificate in the handshake); the node hears of it
    /// through ``NodeInbox/reachable(_:)``.
    func connect(_ peer: String)
}

extension PeerTransport {
    public func peersChanged(_ peers: Set<String>) {}
    public func connect(_ peer: String) {}
}
