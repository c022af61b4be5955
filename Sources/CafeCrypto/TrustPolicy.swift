import CafeCore

/// What a signer asks of this node.
public enum TrustAction: Sendable, Hashable, CustomStringConvertible {
    /// Run the command-map entry for this request name.
    case request(String)
    /// Run commands the signer sent (ad-hoc).
    case adhoc
    /// Forward the signer's envelopes, or fan its request out by this node's delivery map.
    case relay

    public var description: String {
        switch self {
        case .request(let name): "request \(name)"
        case .adhoc: "ad-hoc commands"
        case .relay: "relay"
        }
    }
}

/// A trust decision and why it was made, for the audit log.
public struct TrustDecision: Sendable, Hashable {
    public var allowed: Bool
    public var reason: String

    public init(allowed: Bool, reason: String) {
        self.allowed = allowed
        self.reason = reason
    }
}

/// The decision logic over `trust.yaml`: default deny, request names matched by globs.
public struct TrustPolicy: Sendable {
    public var config: TrustConfig

    public init(_ config: TrustConfig) {
        self.config = config
    }

    /// Decides what `signer` may do: its own entry, and the `tag:T` entry of every tag its
    /// valid fleet certificate gives it (`tags`); any entry that allows the action allows it.
    public func decide(signer: String, tags: [String] = [], action: TrustAction) -> TrustDecision {
        let entries = ([signer] + tags.map { TrustConfig.tagPrefix + $0 }).compactMap { key in config.rules[key].map { (key, $0) } }
        guard !entries.isEmpty else {
            return TrustDecision(
                allowed: false,
                reason: "\(signer)\(tags.isEmpty ? "" : " (tags \(tags.joined(separator: ", ")))") is not in trust.yaml")
        }
        for (key, rule) in entries {
            switch action {
            case .request(let name):
                if let pattern = rule.requests.first(where: { Self.glob($0, matches: name) }) {
                    return TrustDecision(allowed: true, reason: "trust.yaml allows \(key) '\(pattern)'")
                }
            case .adhoc where rule.adhoc:
                return TrustDecision(allowed: true, reason: "trust.yaml allows \(key) ad-hoc commands")
            case .relay where rule.relay:
                return TrustDecision(allowed: true, reason: "trust.yaml allows \(key) to relay")
            default:
                continue
            }
        }
        let keys = entries.map(\.0).joined(separator: ", ")
        switch action {
        case .request(let name): return TrustDecision(allowed: false, reason: "trust.yaml does not allow \(keys) request '\(name)'")
        case .adhoc: return TrustDecision(allowed: false, reason: "trust.yaml does not allow \(keys) ad-hoc commands (adhoc: false)")
        case .relay: return TrustDecision(allowed: false, reason: "trust.yaml does not allow \(keys) to relay (relay: false)")
        }
    }

    /// `*` matches any run of characters, `?` one character; everything else itself.
    public static func glob(_ pattern: String, matches name: String) -> Bool {
        let p = Array(pattern.utf8), n = Array(name.utf8)
        var pi = 0, ni = 0, starP = -1, starN = 0
        while ni < n.count {
            if pi < p.count && (p[pi] == UInt8(ascii: "?") || p[pi] == n[ni]) {
                pi += 1
                ni += 1
            } else if pi < p.count && p[pi] == UInt8(ascii: "*") {
                starP = pi
                starN = ni
                pi += 1
            } else if starP >= 0 {
                pi = starP + 1
                starN += 1
                ni = starN
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}
