import CafeCore
import Glibc

/// The durable part of the ``ReplayWindow``: an append-only file of admitted envelope ids with
/// their expiry (`EXPIRY-MILLISECONDS SENDER/ID` per line), flushed as soon as the envelope has
/// been stored or journaled, and compacted when it is opened and by ``rewrite(_:)``. A line torn by a crash is ignored: its envelope was never
/// acknowledged, so the sender sends it again.
public final class SeenLog: @unchecked Sendable {
    public let path: String
    private var fd: Int32

    /// Opens (creating if needed) the log at `path`, and returns it with the unexpired entries.
    public static func open(_ path: String, now: Timestamp) throws -> (SeenLog, [String: Timestamp]) {
        var entries: [String: Timestamp] = [:]
        if FileSystem.exists(path) {
            let bytes = try FileSystem.read(path, maxBytes: 1 << 30)
            var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            lines.removeLast()  // empty after the final newline, or a line torn by a crash
            for line in lines {
                let parts = line.split(separator: UInt8(ascii: " "))
                guard parts.count == 2, let millis = Int64(String(decoding: parts[0], as: UTF8.self)) else { continue }
                let expiry = Timestamp(milliseconds: millis)
                if expiry > now { entries[String(decoding: parts[1], as: UTF8.self)] = expiry }
            }
        }
        let log = SeenLog(path: path, fd: -1)
        try log.rewrite(entries)
        return (log, entries)
    }

    /// Replaces the log with just `entries` (the unexpired ones), atomically, and appends to
    /// the new file from now on. Called at start and periodically, so the log stays the size
    /// of the replay window.
    public func rewrite(_ entries: [String: Timestamp]) throws {
        var compacted: [UInt8] = []
        for (key, expiry) in entries.sorted(by: { $0.key < $1.key }) {
            compacted.append(contentsOf: "\(expiry.milliseconds) \(key)\n".utf8)
        }
        try FileSystem.writeAtomically(compacted, to: path)
        let reopened = Glibc.open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard reopened >= 0 else { throw EnvironmentError("cannot open \(path): \(String(cString: strerror(errno)))") }
        if fd >= 0 { close(fd) }
        fd = reopened
    }

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Flushes every entry appended so far to disk.
    public func flush() throws {
        guard fdatasync(fd) == 0 else { throw EnvironmentError("cannot flush \(path): \(String(cString: strerror(errno)))") }
    }

    /// Appends entries and (when `synced`) flushes them to disk before returning; unsynced
    /// entries are flushed by the next synced record.
    public func record(_ entries: [(key: String, expires: Timestamp)], synced: Bool = true) throws {
        guard !entries.isEmpty else { return }
        var bytes: [UInt8] = []
        for entry in entries { bytes.append(contentsOf: "\(entry.expires.milliseconds) \(entry.key)\n".utf8) }
        if synced {
            try FileSystem.appendDurably(fd: fd, bytes, path: path)
        } else {
            try FileSystem.append(fd: fd, bytes, path: path)
        }
    }
}
