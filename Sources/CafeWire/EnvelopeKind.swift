/// What an envelope carries. The kind is the signing context (see ``SignedText``), so a
/// signature made for one kind never verifies as another.
public enum EnvelopeKind: String, Sendable, Hashable, CaseIterable {
    /// Origin → host: run this request.
    case request
    /// Host → origin: the signed result of a request.
    case result
    /// Receiver → sender: an envelope was stored durably (or refused, with the reason).
    case ack
    /// One hop of a relayed envelope: the end-to-end envelope inside, the path so far, signed by
    /// the hop that hands it on.
    case forward
}
