import CafeCore
import CafeTestSupport
import Glibc
import Testing

@testable import CafeNode

/// `spool/node.log` on its own: what a restart reads back after a crash cut a record short,
/// after a record was damaged on disk, and after compaction; and the audit lines it carries.
@Suite("node log")
final class NodeLogTests {
    let directory = TemporaryDirectory("cafe-node-log")

    deinit { directory.cleanup() }
    var path: String { directory.path + "/node.log" }
    var quarantine: Quarantine { Quarantine(directory: directory.path + "/quarantine") }

    /// One record of each kind, in an order a node could write them.
    let records: [NodeLogRecord] = [
        .auditMark(0),
        .outbox(id: "20261202-100000-000-00000000000001", envelope: Array("envelope: 1\nbody: \"ü\"\n".utf8)),
        .request(stem: "jlore.20261202-100000-000-9f2c1a7be301.0", envelope: Array("request\n".utf8)),
        .audit("2026-12-02T10:00:00.000Z allow signer=jlore reason=\"trusted\"\n"),
        .running(stem: "jlore.20261202-100000-000-9f2c1a7be301.0"),
        .outboxRemoved(id: "20261202-100000-000-00000000000001"),
        .result(stem: "jlore.20261202-100000-000-9f2c1a7be301.0", envelope: Array("result\n".utf8)),
        .delivered(stem: "jlore.20261202-100000-000-9f2c1a7be301.0"),
        .request(stem: "jlore.20261202-100000-000-9f2c1a7be301.1", envelope: [0, 255, 10]),
        .requestRemoved(stem: "jlore.20261202-100000-000-9f2c1a7be301.1"),
    ]

    func replayed(_ records: some Sequence<NodeLogRecord>) -> NodeLogState {
        var state = NodeLogState()
        for record in records { state.apply(record) }
        return state
    }

    func write(_ bytes: [UInt8]) throws { try FileSystem.writeAtomically(bytes, to: path) }

    @Test("every record reads back as written, and a compacted log holds the same live state")
    func roundTrip() throws {
        let log = try NodeLog(path: path, state: NodeLogState())
        log.append(records)
        #expect(try log.commit())
        let (state, problems) = try NodeLog.read(path, quarantine: quarantine)
        #expect(problems.isEmpty)
        #expect(state == replayed(records))
        #expect(state.outbox.isEmpty && state.requests.count == 1 && state.requests.values.first?.delivered == true)
        try log.rewrite()
        #expect(try NodeLog.read(path, quarantine: quarantine).state.records == state.records)
        // Records whose loss costs only a duplicate are written but not synced on their own.
        log.append([.delivered(stem: "x")], synced: false)
        #expect(try log.commit() == false)
    }

    @Test("a crash that cut the last record anywhere leaves the records before it, and the next append starts on a line of its own")
    func tornLastRecord() throws {
        let whole = records.flatMap(\.line)
        let last = records.last!.line
        for cut in 1..<last.count {
            try write(Array(whole.dropLast(cut)))
            let (state, problems) = try NodeLog.read(path, quarantine: quarantine)
            #expect(state == replayed(records.dropLast()), "cut \(cut) bytes before the end")
            #expect(problems.count == 1 && problems[0].contains("dropped the last record"), "\(problems)")
            #expect(try FileSystem.read(path, maxBytes: 1 << 20) == Array(whole.dropLast(last.count)), "the torn bytes are cut off the file")
            let log = try NodeLog(path: path, state: state)
            log.append([.running(stem: "jlore.20261202-100000-000-9f2c1a7be301.1")])
            try log.commit()
            #expect(try NodeLog.read(path, quarantine: quarantine).problems.isEmpty)
        }
    }

    @Test("a record damaged on disk is quarantined with the reason, and every record after it still counts")
    func damagedRecord() throws {
        var lines = records.map(\.line)
        lines[2][30] ^= 0x01  // one bit of the request's line
        lines[4] = Array("0000000000000000 running x\n".utf8)  // a checksum that does not match
        try write(lines.flatMap { $0 })
        let (state, problems) = try NodeLog.read(path, quarantine: quarantine)
        #expect(problems.count == 2)
        #expect(state == replayed(records.enumerated().filter { ![2, 4].contains($0.offset) }.map(\.element)))
        #expect(state.requests["jlore.20261202-100000-000-9f2c1a7be301.0"] == nil, "the damaged request and what followed for it")
        let reason = String(decoding: try FileSystem.read(quarantine.directory + "/node.log.line-3.reason", maxBytes: 4096), as: UTF8.self)
        #expect(reason.contains("line 3 of \(path)") && reason.contains("checksum does not match") && reason.contains("lines after it were kept"))
        #expect(try FileSystem.read(quarantine.directory + "/node.log.line-3", maxBytes: 4096) == lines[2])
        #expect(FileSystem.exists(quarantine.directory + "/node.log.line-5"))
        // Unknown records and bad base64 are damage too, named as such.
        try write(NodeLogRecord.auditMark(0).line.dropLast(12) + Array("audit-mark x\n".utf8))
        #expect(try NodeLog.read(path, quarantine: nil).problems.count == 1)
    }

    @Test("the log is compacted once it holds twice what is live, and keeps only what is live")
    func compaction() throws {
        let log = try NodeLog(path: path, state: NodeLogState())
        let envelope = [UInt8](repeating: 65, count: 4096)
        var flushes = 0
        for round in 0..<600 {
            let id = "20261202-100000-000-\(String(round, radix: 16).leftPadded(to: 14))"
            log.append([.outbox(id: id, envelope: envelope), .audit("line \(round)\n")])
            try log.commit()
            if round % 10 != 0 { log.append([.outboxRemoved(id: id)]) }
            try log.commit()
            try log.compactIfNeeded {
                flushes += 1
                return UInt64(flushes * 1000)
            }
        }
        let size = try FileSystem.read(path, maxBytes: 1 << 26).count
        #expect(flushes >= 1, "600 × 5.5 KiB of records, of which a tenth live, was compacted")
        #expect(size < 2 * log.state.liveBytes + NodeLog.slack)
        let (state, problems) = try NodeLog.read(path, quarantine: quarantine)
        #expect(problems.isEmpty && state.outbox.count == 60)
        #expect(state.auditMark == UInt64(flushes * 1000), "the audit lines before the compaction were flushed to the audit log first")
        #expect(state.audit.count < 600 && state.audit.last == "line 599\n")
    }

    @Test("audit lines the log holds are restored to log/audit.log after a crash: the missing ones, once each, after a torn line")
    func auditRestore() throws {
        let audit = AuditLog(path: directory.path + "/audit.log", clock: ManualClock(Timestamp(milliseconds: 0)))
        try audit.append(["before\n"], synced: true)
        let mark = try audit.flush()
        let lines = ["a\n", "b\n", "a\n", "c\n"]
        // The crash came after "a", "b" and part of the next line reached the file; `cafe run`
        // had added a line of its own.
        try audit.append(["a\n", "other\n", "b\n", "a"], synced: false)
        let size = try audit.restore(lines, after: mark)
        let text = String(decoding: try FileSystem.read(audit.path, maxBytes: 4096), as: UTF8.self)
        #expect(text == "before\na\nother\nb\na\na\nc\n")
        #expect(size == UInt64(text.utf8.count))
        // Restoring again adds nothing.
        #expect(try audit.restore(lines, after: mark) == size)
    }
}

/// The requests in the spool of the node at `home` now, by `ORIGIN.BATCH.INDEX`: whether each
/// has its result and whether that was acknowledged (`spool/node.log` read as a restart would,
/// the file left as it is).
func spooledRequests(_ home: String) throws -> [String: (result: Bool, delivered: Bool)] {
    try NodeLog.read(home + "/spool/node.log", quarantine: nil).state.requests.mapValues { ($0.result != nil, $0.delivered) }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
