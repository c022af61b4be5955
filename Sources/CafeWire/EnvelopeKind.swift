import CafeCore

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
    /// Origin → host: which commands would you run for this request (`cafe batch plan`)? A host
    /// never runs anything for it.
    case planRequest = "plan-request"
    /// Host → origin: the signed answer to a plan request. Never taken as a result.
    case planAnswer = "plan-answer"
}

extension EnvelopeKind: YAMLWord {
    public static let yamlMeaning = "an envelope kind"
}
