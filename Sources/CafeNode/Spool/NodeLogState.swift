/// What `spool/node.log` says is live, replayed record by record: the outbox's envelopes, the
/// request spool's entries and the audit lines not yet known to be flushed in `log/audit.log`.
/// A pure value: ``NodeLog`` keeps it beside the file, to compact the file from it.
struct NodeLogState: Sendable, Equatable {
    /// One request of the spool as the log holds it.
    struct Request: Sendable, Equatable {
        var envelope: [UInt8]
        var running = false
        var result: [UInt8]?
        var delivered = false
    }

    /// Outbox envelopes by id.
    private(set) var outbox: [String: [UInt8]] = [:]
    /// Spool entries by request stem.
    private(set) var requests: [String: Request] = [:]
    /// Audit lines since ``auditMark``.
    private(set) var audit: [String] = []
    /// The size `log/audit.log` had, flushed, when the log was last compacted.
    private(set) var auditMark: UInt64 = 0
    /// About the bytes of the outbox's and the spool's lines: what a compacted log holds
    /// besides the audit lines (which a compaction moves to the audit log).
    private(set) var liveBytes = 0

    mutating func apply(_ record: NodeLogRecord) {
        switch record {
        case .outbox(let id, let envelope):
            if let old = outbox.updateValue(envelope, forKey: id) { liveBytes -= Self.size(old) }
            liveBytes += Self.size(envelope)
        case .outboxRemoved(let id):
            if let old = outbox.removeValue(forKey: id) { liveBytes -= Self.size(old) }
        case .request(let stem, let envelope):
            if let old = requests.updateValue(Request(envelope: envelope), forKey: stem) { liveBytes -= Self.size(old) }
            liveBytes += Self.size(envelope)
        case .running(let stem):
            if requests[stem]?.running == false { requests[stem]?.running = true; liveBytes += Self.lineSize }
        case .result(let stem, let envelope):
            guard let old = requests[stem] else { return }
            liveBytes += Self.size(envelope) - (old.result.map(Self.size) ?? 0)
            requests[stem]?.result = envelope
        case .delivered(let stem):
            if requests[stem]?.delivered == false { requests[stem]?.delivered = true; liveBytes += Self.lineSize }
        case .requestRemoved(let stem):
            if let old = requests.removeValue(forKey: stem) { liveBytes -= Self.size(old) }
        case .audit(let line):
            // Not counted as live: a compaction flushes them to the audit log and drops them.
            audit.append(line)
        case .auditMark(let offset):
            auditMark = offset
            audit = []
        }
    }

    /// Drops the result of request `stem` (one that did not verify when loaded): the request
    /// is reported as interrupted instead.
    mutating func forgetResult(_ stem: String) {
        guard let old = requests[stem]?.result else { return }
        liveBytes -= Self.size(old)
        requests[stem]?.result = nil
        requests[stem]?.running = true
    }

    /// About the bytes of a line holding `payload` in base64, and of one without a payload.
    private static func size(_ payload: [UInt8]) -> Int { (payload.count + 2) / 3 * 4 + lineSize }
    private static let lineSize = 64
    private static func size(_ request: Request) -> Int {
        size(request.envelope) + (request.result.map(size) ?? 0) + (request.running ? lineSize : 0) + (request.delivered ? lineSize : 0)
    }

    /// The records of a compacted log that holds exactly this state (entries in id order:
    /// their order carries no meaning, each entry's own records stay in theirs).
    var records: [NodeLogRecord] {
        var records: [NodeLogRecord] = [.auditMark(auditMark)]
        records += audit.map(NodeLogRecord.audit)
        for (id, envelope) in outbox.sorted(by: { $0.key < $1.key }) { records.append(.outbox(id: id, envelope: envelope)) }
        for (stem, request) in requests.sorted(by: { $0.key < $1.key }) {
            records.append(.request(stem: stem, envelope: request.envelope))
            if request.running { records.append(.running(stem: stem)) }
            if let result = request.result { records.append(.result(stem: stem, envelope: result)) }
            if request.delivered { records.append(.delivered(stem: stem)) }
        }
        return records
    }
}
