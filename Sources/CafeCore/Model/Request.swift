/// A named request with its data, as a batch file lists it; after it has run, the record of
/// every host it ran on.
///
/// A request runs against a command map (each host's own `commands.yaml`), or, when commands
/// were added to it directly, runs exactly those (an ad-hoc request, which hosts accept only
/// from signers they trust with `adhoc: true`).
///
/// ```swift
/// var request = Request(name: "activate_dialup", data: try RequestData(["username": "cranky"]))
/// let map = CommandMap(entries: ["activate_dialup": CommandMapEntry(commands: [.argv(["echo", "{{username}}"])])])
/// await request.run(on: LocalExecutor(node: "jlore", commandMap: map))
/// // request.state == .ok, request.records[0].result?.commands[0].stdout.text == "cranky\n"
/// ```
public struct Request: Sendable {
    /// The name ad-hoc requests (`cafe run`) carry.
    public static let adhocName = "adhoc"

    public var name: String
    public var data: RequestData
    /// Commands added directly; when not empty, the command map is not consulted.
    public var commands: [Command]
    /// One record per host, filled in as the request runs.
    public var records: [HostRecord]
    public var state: RequestState
    /// Groups of hosts chosen for this request alone (`cafe run --on`, `cafe rerun --failed`);
    /// nil: the origin's delivery.yaml decides.
    public var groups: [HostGroup]?
    /// The health checks its groups ran (executed files).
    public var checks: [GroupCheck] = []
    /// The origin's remark when the request could not be sent at all (no delivery.yaml entry).
    public var note: String?
    /// For `cafe rerun --failed` under forwarding hosts: per forwarding host, the paths below
    /// it to run again (`b2`, `gw2/b5`; `.` for its own commands). A host not named here runs
    /// the whole request.
    public var only: [String: [String]]?
    /// For `cafe batch run --plan HASH`: per host, the digest of its command-map entry when the
    /// plan was made. The host runs the request only while its entry still has that digest.
    public var planned: [String: String]?

    public init(name: String, data: RequestData = RequestData(), commands: [Command] = []) {
        self.name = name
        self.data = data
        self.commands = commands
        self.records = []
        self.state = .pending
    }

    /// True when the request carries its own commands.
    public var isAdhoc: Bool { !commands.isEmpty }

    /// Adds a command to run directly, making this an ad-hoc request.
    public mutating func add(_ command: Command) {
        commands.append(command)
    }

    /// Runs the request through `executor` (this host, or the mesh) as part of `batch`, and
    /// records the outcome. `index` is its position in the batch.
    public mutating func run(on executor: some RequestExecutor, batch: BatchContext = .standalone, index: Int = 0) async {
        state = .running
        records = await executor.execute(self, index: index, batch: batch)
        state = RequestState(records: records)
    }
}

/// Where a request of a batch stands.
public enum RequestState: String, Sendable, Hashable, CaseIterable {
    case pending
    case running
    /// Every host reached `ok`.
    case ok
    /// At least one host did not reach `ok`.
    case failed
    /// Not started because an earlier request failed.
    case skipped

    /// `ok` when every record is `ok` (and there is at least one), `failed` otherwise.
    public init(records: [HostRecord]) {
        self = !records.isEmpty && records.allSatisfy { $0.state == .ok } ? .ok : .failed
    }
}
