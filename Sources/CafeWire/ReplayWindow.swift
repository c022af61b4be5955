import CafeCore

/// Freshness and replay decisions for incoming envelopes, as pure logic over an injected "now".
///
/// An envelope is admitted only if it is for this node, not expired, not dated further in the
/// future than the allowed clock skew, does not claim a lifetime beyond ``maxLifetime``, and
/// its (sender, id) has not been admitted before. Admitted ids are remembered until their
/// envelope expires; ``SeenLog`` makes that memory survive restarts.
public struct ReplayWindow: Sendable {
    /// This node's name: envelopes for any other target are refused.
    public var node: String
    /// Seconds an envelope may be dated ahead of this node's clock.
    public var maxSkew: Double
    /// Longest lifetime (expires − created) accepted, which bounds how long ids are kept.
    public var maxLifetime: Double
    /// (sender/id) → expiry.
    public private(set) var seen: [String: Timestamp]

    public init(node: String, maxSkew: Double = 300, maxLifetime: Double = 30 * 86_400, seen: [String: Timestamp] = [:]) {
        self.node = node
        self.maxSkew = maxSkew
        self.maxLifetime = maxLifetime
        self.seen = seen
    }

    /// The verdict on one envelope header.
    public enum Verdict: Sendable, Hashable {
        case admit
        case refuse(Refusal)
    }

    /// Why an envelope was refused.
    public struct Refusal: Sendable, Hashable, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            case wrongTarget, expired, fromTheFuture, lifetimeTooLong, replayed
        }

        public var kind: Kind
        public var message: String
        public var description: String { message }

        public init(kind: Kind, message: String) {
            self.kind = kind
            self.message = message
        }
    }

    /// The key an envelope is remembered under.
    public static func key(_ header: EnvelopeHeader) -> String { header.sender + "/" + header.id }

    /// Checks `header` at `now` and, when it is admitted, remembers it.
    public mutating func admit(_ header: EnvelopeHeader, now: Timestamp) -> Verdict {
        let verdict = check(header, now: now)
        if verdict == .admit { remember(header) }
        return verdict
    }

    /// Remembers `header` as received (after ``check(_:now:)`` admitted it).
    public mutating func remember(_ header: EnvelopeHeader) {
        seen[Self.key(header)] = header.expires
    }

    /// Checks `header` at `now` without remembering it.
    public func check(_ header: EnvelopeHeader, now: Timestamp) -> Verdict {
        if header.target != node {
            return .refuse(Refusal(kind: .wrongTarget, message: "addressed to \(header.target), not to \(node)"))
        }
        if header.expires <= now {
            return .refuse(Refusal(kind: .expired, message: "expired at \(header.expires) (now \(now))"))
        }
        if header.created > now.adding(seconds: maxSkew) {
            return .refuse(Refusal(
                kind: .fromTheFuture, message: "dated \(header.created), more than \(Int(maxSkew)) s ahead of this node's clock (\(now))"))
        }
        if header.expires.seconds(since: header.created) > maxLifetime || header.expires < header.created {
            return .refuse(Refusal(
                kind: .lifetimeTooLong,
                message: "claims a lifetime from \(header.created) to \(header.expires), over the \(Int(maxLifetime)) s limit"))
        }
        if seen[Self.key(header)] != nil {
            return .refuse(Refusal(kind: .replayed, message: "replayed: \(header.sender) envelope \(header.id) was already received"))
        }
        return .admit
    }

    /// Forgets ids whose envelopes have expired; they would be refused as expired anyway.
    public mutating func prune(now: Timestamp) {
        seen = seen.filter { $0.value > now }
    }
}
