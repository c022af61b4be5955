import CafeCore
import CafeWire

/// Everything that can happen to a node, as ``NodeCore`` takes it: inputs from peers, the
/// operator and the clock, and the outcomes of effects the core asked for.
enum NodeEvent: Sendable {
    /// The node starts on what its disk held (loaded by the shell).
    case start(LoadedDisk)
    /// An envelope arrived from the neighbour `from` (or the drop-box), signature verified.
    case envelope(OpenedEnvelope, from: String)
    /// Time passed: deadlines, retransmissions, pruning.
    case tick
    /// The operator submits a batch (`cafe batch run`, `cafe run`, a rerun).
    case submit(SubmitOrder, ReplyToken)
    /// The operator asks for a plan (`cafe batch plan`).
    case collectPlan(PlanOrder, ReplyToken)
    /// The operator pauses, resumes or cancels a running batch.
    case control(BatchID, BatchControl, ReplyToken)
    /// A run the core ordered finished.
    case ran(RunID, HostResult)
    /// A link to this peer is up.
    case reachable(String)
    /// A transmission found no link.
    case undelivered(Envelope, to: String, Transmission)
    /// The identity in force changed: a reload applied, or a peer's certificate was learned.
    case identity(NodeIdentity, generation: Int)
    /// The node stops taking work.
    case stop
}

/// A batch to accept: its input and how to run it, with what the shell read for it.
struct SubmitOrder: Sendable {
    var id: BatchID
    var input: BatchInput
    var options: SubmitOptions
    /// The stored plan `options.plan` names, read by the shell.
    var plan: CollectedPlan?
}

/// A plan to collect.
struct PlanOrder: Sendable {
    var id: BatchID
    var input: BatchInput
    var timeout: Double
    var source: String
}

/// What the shell read from the node's home at start, for the core to resume from. Files that
/// could not be read were quarantined by the shell already.
struct LoadedDisk: Sendable {
    var outbox: Outbox
    var spool: RequestSpool
    var seen: [String: Timestamp]
    /// Batches in `batches/queue` (to start) and `batches/running` (to resume).
    var batches: [LoadedBatch] = []
    var fanOuts: [LoadedFanOut] = []
}

struct LoadedBatch: Sendable {
    var batch: Batch
    var plan: BatchPlan
    /// nil for a queued batch (not begun).
    var journal: [JournalRecord]?
}

struct LoadedFanOut: Sendable {
    var key: RequestKey
    var plan: BatchPlan
    var journal: [JournalRecord]
    /// This node's own result, if its own part ended; `ownStarted` if it had started.
    var own: HostResult?
    var ownStarted: Bool
}
