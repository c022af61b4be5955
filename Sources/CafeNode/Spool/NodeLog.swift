import CafeCore
import Glibc

/// `spool/node.log`: the node's outbox, its request spool and its audit lines not yet flushed
/// in `log/audit.log`, as one append-only file of checksummed lines (``NodeLogRecord``).
///
/// Group commit: the shell appends every record of a step (or of many steps handled together)
/// and makes them durable with one `fdatasync`, instead of a file and a directory sync per
/// request, result and outbox entry. Nothing is acted on before the sync that covers it.
///
/// At start the whole file is replayed (``read(_:quarantine:)``): a last line without its
/// newline was cut by a crash and is dropped (nothing was done about it, and the next append
/// must not run on from it); a line whose checksum fails is quarantined with the reason, and
/// the lines after it still count. The file is then rewritten with only what is live
/// (``rewrite()``), and again while running whenever it has grown past twice that
/// (``compactIfNeeded(flushingAudit:)``), so it stays proportional to what waits and start-up
/// time linear in it.
///
/// Used by one thread at a time (the shell's writer thread).
final class NodeLog: @unchecked Sendable {
    let path: String
    /// What the file says is live, with what was appended since.
    var state: NodeLogState
    private var fd: Int32
    private var buffered: [UInt8] = []
    private var needsSync = false
    /// Bytes in the file.
    private var size = 0
    /// The log is compacted when it holds this much more than what is live.
    static let slack = 1 << 20

    /// The log at `path` (created if missing), holding `state` (``read(_:quarantine:)``), open
    /// for appending.
    init(path: String, state: NodeLogState) throws {
        self.path = path
        self.state = state
        fd = try Self.openForAppending(path)
        size = Int(max(0, lseek(fd, 0, SEEK_END)))
    }

    private static func openForAppending(_ path: String) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw EnvironmentError("cannot open \(path): \(String(cString: strerror(errno)))") }
        return fd
    }

    deinit { close(fd) }

    /// Replays the log at `path` (a missing file is an empty log). Damaged lines go to
    /// `quarantine` with the reason, and a torn last line is cut off the file; with no
    /// `quarantine` (to inspect a log) the file is left as it is. The returned problems say what
    /// was dropped.
    static func read(_ path: String, quarantine: Quarantine?) throws -> (state: NodeLogState, problems: [String]) {
        var state = NodeLogState()
        var problems: [String] = []
        guard FileSystem.exists(path) else { return (state, problems) }
        let bytes = try FileSystem.read(path, maxBytes: Int(Int32.max))
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if let torn = lines.popLast(), !torn.isEmpty {
            problems.append("dropped the last record of \(path) (\(torn.count) bytes without an end of line): a crash cut it before it was flushed, so nothing was done about it")
            // Cut it off, or the next record would run on from it.
            if quarantine != nil, truncate(path, off_t(bytes.count - torn.count)) != 0 {
                throw EnvironmentError("cannot cut the torn last record off \(path): \(String(cString: strerror(errno)))")
            }
        }
        for (index, line) in lines.enumerated() {
            do {
                state.apply(try NodeLogRecord(line: line))
            } catch {
                var problem = "line \(index + 1) of \(path) is not a record (\(error)); the lines after it were kept"
                if let quarantine {
                    problem = try quarantine.keep(Array(line) + [UInt8(ascii: "\n")], name: "node.log.line-\(index + 1)", reason: problem)
                }
                problems.append(problem)
            }
        }
        return (state, problems)
    }

    /// Replaces the file with the records of ``state`` alone, atomically, and appends to the
    /// new file from now on.
    func rewrite() throws {
        var bytes: [UInt8] = []
        for record in state.records { bytes += record.line }
        try FileSystem.writeAtomically(bytes, to: path)
        let reopened = try Self.openForAppending(path)
        close(fd)
        fd = reopened
        size = bytes.count
        buffered = []
        needsSync = false
    }

    /// Adds `records` to what the next ``commit()`` writes; `synced`: that commit must also
    /// make them durable (records whose loss in a crash costs only a duplicate need not).
    func append(_ records: [NodeLogRecord], synced: Bool = true) {
        for record in records {
            buffered += record.line
            state.apply(record)
        }
        needsSync = needsSync || (synced && !records.isEmpty)
    }

    /// Whether ``commit()`` has anything to write.
    var hasPending: Bool { !buffered.isEmpty }

    /// Writes what was appended with one `write`, then, when any of it asked to be synced, makes
    /// it durable with one `fdatasync`; returns whether it synced.
    @discardableResult
    func commit() throws -> Bool {
        guard !buffered.isEmpty else { return false }
        let sync = needsSync
        if sync {
            try FileSystem.appendDurably(fd: fd, buffered, path: path)
        } else {
            try FileSystem.append(fd: fd, buffered, path: path)
        }
        size += buffered.count
        buffered = []
        needsSync = false
        return sync
    }

    /// Compacts the file when it has grown past twice what is live (and by at least
    /// ``slack``). The audit lines it holds are flushed to `log/audit.log` first:
    /// `flushingAudit` does that and returns the audit log's size.
    func compactIfNeeded(flushingAudit: () throws -> UInt64) throws {
        guard size > 2 * state.liveBytes + Self.slack else { return }
        try commit()
        state.apply(.auditMark(try flushingAudit()))
        try rewrite()
    }
}
