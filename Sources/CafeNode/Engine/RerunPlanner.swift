import CafeCore

/// What `cafe rerun ID --failed` runs again, as a pure function of the batch's saved original
/// and its executed batch file: each request that did not succeed, on the hosts that did not
/// succeed, in the groups it ran in; below a forwarding host, only the paths that did not
/// succeed there (`.` for its own commands). Signed results are read through `verify`, which
/// returns a result only when its signature holds.
public struct RerunPlanner {
    /// The groups a request runs in when neither the original nor the executed file says
    /// (this node's delivery.yaml).
    public var groups: (String) -> [HostGroup]?
    /// The host result a signed result text proves, or nil when it does not verify.
    public var verify: (String) -> HostResult?

    public init(groups: @escaping (String) -> [HostGroup]?, verify: @escaping (String) -> HostResult?) {
        self.groups = groups
        self.verify = verify
    }

    /// The requests of `original` (position by position) that did not succeed in `executed`,
    /// narrowed to their failed hosts. Throws when the files do not belong together, or when
    /// nothing failed.
    public func failed(_ original: [Request], executed: Batch, source: String) throws -> [Request] {
        var kept: [Request] = []
        for (index, request) in original.enumerated() {
            guard let record = executed.requests[safe: index], record.name == request.name else {
                throw InputError(source: source, message: "does not match the saved original (request \(index) differs)")
            }
            guard record.state != .ok else { continue }
            var request = request
            if record.state != .skipped && !record.records.isEmpty {
                let failed = Set(record.records.filter { $0.state != .ok }.map(\.host))
                let groups = request.groups ?? record.groups ?? groups(request.name) ?? []
                // Each group keeps its rules (window, budget, pause, check) over the hosts left.
                var filtered = groups.keeping(failed.contains)
                let missing = failed.subtracting(filtered.allHosts).sorted()
                if !missing.isEmpty { filtered.append(HostGroup(missing)) }
                request.groups = filtered
                var only: [String: [String]] = [:]
                for record in record.records where record.state != .ok {
                    if let paths = failedPaths(record), !paths.isEmpty { only[record.host] = paths }
                }
                request.only = only.isEmpty ? nil : only
            }
            kept.append(request)
        }
        guard !kept.isEmpty else { throw InputError(source: source, message: "every request succeeded; nothing to run again") }
        return kept
    }

    /// What to run again below a forwarding host that did not succeed: the paths of its
    /// leaves that did not succeed (deeper ones as `gw2/b5`), and `.` when its own part did
    /// not succeed (a command failed or timed out, it was denied or interrupted, or it failed
    /// with every leaf `ok`); nil when the whole request must run again there (no verified
    /// result with leaves, or it failed before it fanned out).
    public func failedPaths(_ record: HostRecord) -> [String]? {
        guard let signed = record.signedResult, let result = verify(signed), !result.leaves.isEmpty else { return nil }
        var paths: [String] = []
        let failedLeaves = result.leaves.filter { $0.state != .ok }
        let ownMessage = result.message.map { !$0.hasPrefix("below \(result.host):") } ?? false
        let ownFailed = result.commands.contains { $0.termination != .exited(0) || $0.timedOutAfter != nil }
            || result.state == .denied || (result.state != .ok && (failedLeaves.isEmpty || ownMessage))
        if ownFailed { paths.append(".") }
        for leaf in failedLeaves {
            guard let below = failedPaths(leaf) else {
                paths.append(leaf.host)
                continue
            }
            paths += below.map { $0 == "." ? "\(leaf.host)/." : "\(leaf.host)/\($0)" }
        }
        return paths.isEmpty ? nil : paths
    }

    /// The plan of a rerun, one line per request: where it runs again.
    public static func plan(_ requests: [Request]) -> String {
        requests.map { request in
            let groups = (request.groups ?? []).map { group in
                group.hosts.map { host in request.only?[host].map { "\(host) (only \($0.joined(separator: ", ")))" } ?? host }.joined(separator: ", ")
            }
            return "rerun plan: \(request.name) on " + (groups.isEmpty ? "its delivery.yaml groups" : groups.joined(separator: ", then "))
        }.joined(separator: "\n") + "\n"
    }
}
