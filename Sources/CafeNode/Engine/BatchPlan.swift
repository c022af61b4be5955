import CafeCore

/// What the engine needs to run one batch: for every request, the groups of hosts it goes to,
/// and the batch's time limits. Fixed when the batch starts (and saved with it), so a change to
/// delivery.yaml never changes a batch that is already running.
public struct BatchPlan: Sendable, Hashable {
    public var id: BatchID
    public var origin: String
    /// Per request, in batch order: its name and its groups of hosts.
    public var requests: [PlannedRequest]
    /// Seconds a host may take from its start before it counts as no-answer;
    /// nil: until the requests expire.
    public var hostTimeout: Double?
    /// After this instant no request of the batch may be delivered or run.
    public var expires: Timestamp

    public init(id: BatchID, origin: String, requests: [PlannedRequest], hostTimeout: Double?, expires: Timestamp) {
        self.id = id
        self.origin = origin
        self.requests = requests
        self.hostTimeout = hostTimeout
        self.expires = expires
    }
}

/// One request of a plan.
public struct PlannedRequest: Sendable, Hashable {
    public var name: String
    /// Its groups, selectors resolved to host names.
    public var groups: [HostGroup]
    /// Set when the request cannot be delivered at all (no delivery.yaml entry): the request
    /// fails with this note without anything being sent.
    public var undeliverable: String?

    public init(name: String, groups: [HostGroup], undeliverable: String? = nil) {
        self.name = name
        self.groups = groups
        self.undeliverable = undeliverable
    }
}

extension BatchPlan {
    /// The health checks of the plan, one per group that has `check:`, in order. Each is an
    /// engine request of its own, numbered after the batch's requests: index
    /// `requests.count + k` is check `k`.
    public var checks: [PlannedCheck] {
        var checks: [PlannedCheck] = []
        for (request, planned) in requests.enumerated() {
            for (group, hostGroup) in planned.groups.enumerated() {
                if let name = hostGroup.check {
                    checks.append(PlannedCheck(request: request, group: group, name: name, index: requests.count + checks.count))
                }
            }
        }
        return checks
    }

    /// The name of engine request `index`: a request of the batch, or a check.
    public func name(of index: Int) -> String {
        index < requests.count ? requests[index].name : checks[index - requests.count].name
    }
}

/// A group's health check: the request `name`, run on the hosts of group `group` of request
/// `request` that succeeded, as engine request `index`.
public struct PlannedCheck: Sendable, Hashable {
    public var request: Int
    public var group: Int
    public var name: String
    public var index: Int
}

