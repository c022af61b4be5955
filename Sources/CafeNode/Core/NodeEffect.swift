import CafeCore
import CafeWire
import Logging

/// What ``NodeCore`` asks its shell to do. The shell carries out every ``DurableWrite`` of one
/// step in order, and only when all of them succeeded does it do the rest (send, run, tell,
/// log); a write that fails stops the node, which resumes from its disk when started again. The outcome of an effect that has one comes back as a
/// new ``NodeEvent``, never as a call into the core.
enum NodeEffect: Sendable {
    /// Make this durable before anything else of the step happens.
    case write(DurableWrite)
    /// Hand `envelope` to the transport for the neighbour `peer` (a live link or the drop-box).
    /// When there is no link, the shell answers with ``NodeEvent/undelivered(_:)``.
    case transmit(Envelope, to: String, Transmission)
    /// An envelope this node sends to itself: the shell hands it back as an arrival.
    case loopback(Envelope)
    /// Open a link to `peer` so that it proves its key (its certificate comes with the handshake).
    case connect(String)
    /// Run a request's commands; the shell answers with ``NodeEvent/ran(_:_:)``.
    case run(RunOrder)
    /// Keep a certificate or key transition a signer proved (written under `keys/peers/`).
    case learn(String, SignerProof, Credentials)
    /// Tell whoever follows batch `id`.
    case notify(BatchID, FollowEvent)
    /// Batch `id` ended: its followers' streams end.
    case endFollowers(BatchID)
    /// Answer the caller of a submitted, controlled or planned batch.
    case reply(ReplyToken, Reply)
    case log(Logger.Level, String, Logger.Metadata)
    case metric(MetricEvent)
}

/// One thing a crash must not lose. The shell applies them in the order given.
enum DurableWrite: Sendable {
    /// Store envelopes in the outbox (records of `spool/node.log`, one sync for all).
    case outboxAdd([Envelope])
    /// Remove an outbox file; `synced: false` for an acknowledged one (a crash that brings it
    /// back only sends it again).
    case outboxRemove(id: String, synced: Bool)
    /// An outbox entry that can never be delivered: its envelope goes to quarantine with the
    /// reason, and leaves the outbox.
    case outboxQuarantine(Envelope, reason: String)
    case spool(RequestKey, SpoolWrite)
    /// Append records to a delivery's journal (flushed unless every record is progress only).
    case journal(Delivery, [JournalRecord])
    /// Record envelope ids as seen (the replay window's durable half).
    case seen([(key: String, expires: Timestamp)], synced: Bool)
    /// Rewrite the seen-set with only what is still live (compaction).
    case seenRewrite([String: Timestamp])
    /// One line in `log/audit.log`.
    case audit(AuditLine)
    /// Move a file that can never be used into quarantine, with the reason beside it.
    case quarantine(path: String, reason: String)
    case file(path: String, bytes: [UInt8], mode: UInt32)
    case makeDirectory(String)
    /// Remove files (missing ones are fine).
    case remove([String])

    /// Whether carrying it out waits for the disk (an `fsync`). A group of writes none of which
    /// does is only a `write` or two: the node carries it out on its own executor, without the
    /// two thread hand-offs of the writer.
    var waitsForDisk: Bool {
        switch self {
        case .outboxRemove(_, let synced), .seen(_, let synced): synced
        case .spool(_, .delivered), .spool(_, .remove): false
        default: true
        }
    }
}

/// What happens to one request in the host's spool.
enum SpoolWrite: Sendable {
    /// The verified request, stored before it is acknowledged.
    case store(Envelope)
    /// Written before the first command starts: after a crash it is reported interrupted.
    case running
    /// The signed result, stored before it is sent home.
    case result(Envelope)
    /// The asker acknowledged the result (not synced).
    case delivered
    /// The entry expired and may go.
    case remove
}

/// A trust decision (or refusal) as `log/audit.log` keeps it.
struct AuditLine: Sendable, Equatable {
    var allowed: Bool
    var fields: [(String, String)]
    var reason: String

    static func == (lhs: AuditLine, rhs: AuditLine) -> Bool {
        lhs.allowed == rhs.allowed && lhs.reason == rhs.reason && lhs.fields.elementsEqual(rhs.fields) { $0 == $1 }
    }
}

/// Why an envelope was handed to the transport: what to do when there was no link.
enum Transmission: Sendable {
    /// An outbox entry: its target is parked until reachable.
    case outbox(id: String)
    /// The oldest entry of a parked target, tried again: when it goes through, the shell
    /// answers with ``NodeEvent/reachable(_:)`` and the rest follow.
    case poke(id: String)
    /// A relayed envelope (the path it passed): held in memory for a while.
    case relay(Envelope, path: [String])
    /// An acknowledgement: lost; the sender sends again and is acknowledged again.
    case ack
}

/// Commands to run for a request, as the shell's runner needs them.
struct RunOrder: Sendable {
    var id: RunID
    var request: Request
    var batch: BatchContext
    /// The command map as the decision used it (a reload meanwhile does not change it).
    var commandMap: CommandMap
}

/// Which run finished: a request run here, or the own part of a request this node also fans out.
enum RunID: Sendable, Hashable {
    case request(RequestKey)
    case ownPart(RequestKey)

    var key: RequestKey {
        switch self {
        case .request(let key), .ownPart(let key): key
        }
    }
}

/// Who waits for an answer from the core (a control connection).
typealias ReplyToken = Int

/// The core's answer to a submitted, controlled or planned batch.
enum Reply: Sendable {
    case submitted(BatchID)
    case text(String)
    case plan(CollectedPlan)
    case failure(any Error)
}

/// Counters the shell keeps for Prometheus.
enum MetricEvent: Sendable {
    case envelopeReceived
    case refused(String)
    case requestFinished(String)
    case batchFinished(String)
}
