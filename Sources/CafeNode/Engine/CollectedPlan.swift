import CafeCore
import CafeCrypto

/// One (request, host) of a plan: what the host answered, signed, to the origin's plan request.
public struct PlannedHost: Sendable, Hashable {
    /// Position of the request in the batch.
    public var index: Int
    public var request: String
    public var host: String
    /// `queued` and `sent` while the plan is collected; then `ok` (the host would run
    /// ``commands``), `failed` or `denied` (``note`` says why), or `no-answer`.
    public var state: HostState = .queued
    public var note: String?
    /// The digest of the host's command-map entry for the request (`sha256:HEX`).
    public var commandDigest: String?
    /// The commands as the host would run them, one line each.
    public var commands: [String] = []

    public init(index: Int, request: String, host: String) {
        self.index = index
        self.request = request
        self.host = host
    }

    /// `activate_dialup[0] on monk1`
    public var label: String { "\(request)[\(index)] on \(host)" }
}

/// What `cafe batch plan` collects: for every request of a batch and every host it would go
/// to (in the order a run would go: requests, then groups, then hosts), the host's signed
/// answer. A complete plan (every host `ok`) has a ``hash`` and is stored under it, so that
/// `cafe batch run FILE --plan HASH` can hold each host to its digest.
public struct CollectedPlan: Sendable, Hashable {
    /// The id the origin gave the plan (it names the plan requests, never a batch that runs).
    public var id: BatchID
    /// The batch's name.
    public var name: String
    public var origin: String
    public var created: Timestamp
    public var hosts: [PlannedHost]

    public init(id: BatchID, name: String, origin: String, created: Timestamp, hosts: [PlannedHost]) {
        self.id = id
        self.name = name
        self.origin = origin
        self.created = created
        self.hosts = hosts
    }

    /// Every host answered `ok` (and there is at least one).
    public var isComplete: Bool { !hosts.isEmpty && hosts.allSatisfy { $0.state == .ok && $0.commandDigest != nil } }

    /// The (request, host) pairs a run of `batch` under `plan` (the origin's resolved delivery)
    /// goes to, in order, as empty lines of a plan. Ad-hoc requests and requests that cannot be
    /// delivered are refused: a plan holds hosts to their command-map entries.
    public static func slots(of batch: Batch, plan: BatchPlan, source: String) throws -> [PlannedHost] {
        var slots: [PlannedHost] = []
        for (index, request) in plan.requests.enumerated() {
            let field = "requests[\(index)] \(request.name)"
            if batch.requests[index].isAdhoc {
                throw InputError(
                    source: source, field: field, message: "carries its own commands; a plan covers requests run from the hosts' command maps",
                    hint: "drop commands: from the request, or run it without a plan")
            }
            if let reason = request.undeliverable { throw InputError(source: source, field: field, message: reason) }
            for host in request.groups.allHosts { slots.append(PlannedHost(index: index, request: request.name, host: host)) }
        }
        return slots
    }

    /// The bytes the plan's hash is taken of: the line `cafe-plan 1`, then one line
    /// `REQUEST HOST DIGEST` per host, in order, each ending in a newline. (Names hold no
    /// spaces, so `printf 'cafe-plan 1\nREQUEST HOST DIGEST\n' | sha256sum` gives the same.)
    public static func hashInput(_ hosts: [(request: String, host: String, digest: String)]) -> [UInt8] {
        Array(("cafe-plan 1\n" + hosts.map { "\($0.request) \($0.host) \($0.digest)\n" }.joined()).utf8)
    }

    /// SHA-256 of ``hashInput(_:)`` in lower-case hex (no `sha256:`): what `cafe batch plan`
    /// prints last and `--plan` names. Nil until the plan is complete.
    public var hash: String? {
        guard isComplete else { return nil }
        return Hex.encode(SHA256.hash(Self.hashInput(hosts.map { ($0.request, $0.host, $0.commandDigest ?? "") })))
    }

    /// Throws unless this plan covers exactly `slots` (a batch's requests and hosts, from
    /// ``slots(of:plan:source:)``), naming the first difference.
    public func check(covers slots: [PlannedHost], source: String) throws {
        let planned = hosts.map(\.label)
        let wanted = slots.map(\.label)
        guard planned != wanted else { return }
        let detail: String
        if let first = zip(planned, wanted).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            detail = "the plan has \(planned[first]) where the batch has \(wanted[first])"
        } else if planned.count > wanted.count {
            detail = "the plan also has \(planned[wanted.count]), which the batch does not"
        } else {
            detail = "the batch also has \(wanted[planned.count]), which the plan does not"
        }
        throw InputError(
            source: source, message: "does not match plan \(hash ?? id.rawValue) '\(name)': \(detail); nothing was sent",
            hint: "make a plan for this batch file with cafe batch plan")
    }

    /// The plan as `cafe batch plan` prints it: a heading, each host with its state, digest and
    /// commands (or why it has none), and, for a complete plan, the hash as the last line.
    public var text: String {
        var lines = ["plan of '\(name)' from \(origin): \(hosts.count) host(s)"]
        for host in hosts {
            var line = "[\(host.index)] \(host.request) on \(host.host): \(host.state.rawValue)"
            if let digest = host.commandDigest { line += " \(digest)" }
            if let note = host.note { line += " — \(note)" }
            lines.append(line)
            lines += host.commands.map { "    $ \($0)" }
        }
        if let hash { lines.append(hash) }
        return lines.joined(separator: "\n") + "\n"
    }
}
