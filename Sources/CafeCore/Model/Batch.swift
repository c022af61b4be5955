/// An ordered list of requests with an id, a name and an origin: a batch file before it runs,
/// and after it runs, the record of everything that ran, where, and what it printed.
///
/// Requests run in order; a request that fails stops the batch, and the requests after it are
/// `skipped` (like a shell script under `set -e`).
///
/// ```swift
/// var batch = Batch(id: id, name: "provision", origin: "jlore", created: now,
///                   requests: [Request(name: "activate_dialup", data: data)])
/// await batch.run(on: LocalExecutor(node: "jlore", commandMap: map))
/// // batch.state == .done or .error
/// ```
public struct Batch: Sendable {
    public var id: BatchID
    public var name: String
    public var origin: String
    public var created: Timestamp
    public var finished: Timestamp?
    public var requests: [Request]
    public var state: BatchState
    /// When the operator cancelled it (`cafe batch cancel`); it then ends in error.
    public var cancelled: Timestamp?

    public init(id: BatchID, name: String, origin: String, created: Timestamp, requests: [Request]) {
        self.id = id
        self.name = name
        self.origin = origin
        self.created = created
        self.requests = requests
        self.state = .queued
    }

    public var context: BatchContext {
        BatchContext(id: id.rawValue, name: name, origin: origin)
    }

    /// Runs every request in order through `executor`; stops at the first failed request.
    /// `clock` stamps ``finished``; `progress` hears about each request as it starts and ends.
    public mutating func run(
        on executor: some RequestExecutor, clock: any WallClock = SystemClock(),
        progress: @Sendable (Int, Request) -> Void = { _, _ in }
    ) async {
        state = .running
        var failed = false
        for index in requests.indices {
            if failed {
                requests[index].state = .skipped
                progress(index, requests[index])
                continue
            }
            requests[index].state = .running
            progress(index, requests[index])
            await requests[index].run(on: executor, batch: context, index: index)
            progress(index, requests[index])
            failed = requests[index].state != .ok
        }
        state = failed ? .error : .done
        finished = clock.now()
    }
}

/// Where a batch stands; the folder under `batches/` it is in.
public enum BatchState: String, Sendable, Hashable, CaseIterable {
    case queued
    case running
    /// Every request succeeded on every host.
    case done
    /// Something failed, was denied, expired or gave no answer.
    case error
}
