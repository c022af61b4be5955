/// One group of a delivery: the hosts that take a request together, and the rules of a staged
/// rollout. A plain group (`[web1, web2]`) starts all its hosts at once and succeeds only if
/// every host succeeds; the rules loosen or tighten that:
///
/// ```yaml
/// - hosts: ["tag:web"]   # names, or tag:T for every peer tagged T
///   batch: 25%           # at most this many hosts at once (a number or a share), sliding
///   max-failures: 10%    # failed or no-answer hosts tolerated (default 0)
///   pause: 30s           # wait after the group before the next starts
///   check: web_health    # a request run on the hosts that succeeded; must pass on each
/// ```
///
/// The same form is read from delivery.yaml, from a batch file's `groups:`, and written to the
/// batch plan and the executed file (there with every `tag:` selector resolved to names).
public struct HostGroup: Sendable, Hashable {
    /// Host names, or `tag:T` selectors before they are resolved.
    public var hosts: [String]
    /// How many hosts run at once; nil: all of them.
    public var batch: Share?
    /// How many hosts may fail (failed, no-answer, expired or denied) with the group still
    /// succeeding; nil: none.
    public var maxFailures: Share?
    /// Seconds to wait after the group succeeded before the next group starts.
    public var pause: Double?
    /// A request run on the group's successful hosts once every host ended.
    public var check: String?

    /// The prefix of a selector: `tag:web` stands for every peer tagged `web`.
    public static let tagPrefix = "tag:"

    public init(_ hosts: [String], batch: Share? = nil, maxFailures: Share? = nil, pause: Double? = nil, check: String? = nil) {
        self.hosts = hosts
        self.batch = batch
        self.maxFailures = maxFailures
        self.pause = pause
        self.check = check
    }

    /// True when no rule is set: the seed's form, a list of hosts.
    public var isPlain: Bool { batch == nil && maxFailures == nil && pause == nil && check == nil }

    /// How many hosts may run at once (at least one).
    public var window: Int { max(1, batch?.count(of: hosts.count, roundingUp: true) ?? hosts.count) }

    /// How many hosts may fail with the group still succeeding.
    public var tolerated: Int { maxFailures?.count(of: hosts.count, roundingUp: false) ?? 0 }

    /// Whether the group succeeded, given the final state of each of its hosts and, when it has
    /// a check, the check's final state on each host that succeeded (nil while not run; not
    /// needed when no host succeeded).
    public func outcome(_ states: [String: HostState], checks: [String: HostState]?) -> GroupOutcome {
        let failures = hosts.filter { states[$0] != .ok }
        if failures.count > tolerated { return .failed(failures: failures.count) }
        // A check runs on the hosts that succeeded; with none, there is nothing to check.
        if check != nil, hosts.contains(where: { states[$0] == .ok }) {
            guard let checks else { return .checkPending }
            let failedChecks = hosts.filter { states[$0] == .ok && checks[$0] != .ok }
            if !failedChecks.isEmpty { return .checkFailed(hosts: failedChecks) }
        }
        return .passed
    }
}

/// What a group's hosts (and its check) make of it.
public enum GroupOutcome: Sendable, Hashable {
    case passed
    /// More hosts failed than the group tolerates.
    case failed(failures: Int)
    /// Every host ended within the budget; the check has yet to run.
    case checkPending
    /// The check did not pass on these hosts.
    case checkFailed(hosts: [String])
}

/// A number of hosts, or a share of a group's hosts (`25%`).
public enum Share: Sendable, Hashable, CustomStringConvertible {
    case count(Int)
    case percent(Double)

    /// The number of hosts this stands for in a group of `total`. A share is rounded up for a
    /// window (25% of 10 hosts: 3 at once) and down for a failure budget (10% of 15 hosts: 1).
    public func count(of total: Int, roundingUp: Bool) -> Int {
        switch self {
        case .count(let count): return min(count, total)
        case .percent(let percent):
            let exact = Double(total) * percent / 100
            return Int(roundingUp ? exact.rounded(.up) : exact.rounded(.down))
        }
    }

    public var description: String {
        switch self {
        case .count(let count): "\(count)"
        case .percent(let percent): (percent == percent.rounded() ? "\(Int(percent))" : "\(percent)") + "%"
        }
    }
}

extension Array where Element == HostGroup {
    /// Every host of every group, in order.
    public var allHosts: [String] { flatMap(\.hosts) }

    /// The groups over only the hosts `keep` accepts, each with its rules (window, budget,
    /// pause, check); groups left empty are dropped.
    public func keeping(_ keep: (String) -> Bool) -> [HostGroup] {
        compactMap { group in
            var kept = group
            kept.hosts = group.hosts.filter(keep)
            return kept.hosts.isEmpty ? nil : kept
        }
    }
}

extension HostGroup: ExpressibleByArrayLiteral {
    /// A plain group: `["web1", "web2"]`.
    public init(arrayLiteral hosts: String...) { self.init(hosts) }
}
