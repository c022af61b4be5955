/// How the node hands envelopes to other nodes. The real one is ``TCPNetwork`` (and, for peers
/// reached by copying files, the drop-box transport); tests use an in-memory network.
///
/// Incoming envelopes go the other way, to ``Node/receive(_:from:)``, and a peer that becomes
/// reachable is announced with ``Node/peerReachable(_:)`` so that its outbox is flushed.
public protocol PeerTransport: Sendable {
    /// Queues `bytes` on a live link to `peer` and returns true; returns false when there is
    /// none right now (the transport starts connecting, and the node keeps the envelope in its
    /// outbox until the peer is reachable).
    func send(_ bytes: [UInt8], to peer: String) -> Bool
}
