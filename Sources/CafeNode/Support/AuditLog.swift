import CafeCore
import Glibc
import NIOConcurrencyHelpers

/// `log/audit.log`: one line per trust decision and per local run, appended and flushed.
/// Lines hold names, ids and reasons only, never data values, so no secret can reach it.
///
/// `2026-11-29T15:30:12.345Z allow signer=jlore request=activate_dialup batch=… reason="…"`
public final class AuditLog: Sendable {
    public let path: String
    private let clock: any WallClock
    private let lock = NIOLock()

    public init(path: String, clock: any WallClock = SystemClock()) {
        self.path = path
        self.clock = clock
    }

    /// Appends one decision and flushes it; throws when it cannot be written (callers then
    /// refuse to act: nothing runs without its audit line).
    public func record(allowed: Bool, fields: [(String, String)], reason: String) throws {
        try append([line(allowed: allowed, fields: fields, reason: reason)], synced: true)
    }

    /// One decision as a line of the log, stamped now, with its newline.
    public func line(allowed: Bool, fields: [(String, String)], reason: String) -> String {
        var line = "\(clock.now()) \(allowed ? "allow" : "deny")"
        for (key, value) in fields { line += " \(key)=\(Self.quoted(value))" }
        return line + " reason=\(Self.quoted(reason))\n"
    }

    /// Appends `lines` (each with its newline); `synced`: flushed before this returns. A node
    /// appends unsynced the lines that `spool/node.log` already holds durably.
    func append(_ lines: [String], synced: Bool) throws {
        guard !lines.isEmpty else { return }
        try withFile { fd in
            let bytes = Array(lines.joined().utf8)
            if synced {
                try FileSystem.appendDurably(fd: fd, bytes, path: path)
            } else {
                try FileSystem.append(fd: fd, bytes, path: path)
            }
        }
    }

    /// Flushes every line appended so far to disk and returns the log's size in bytes.
    func flush() throws -> UInt64 {
        try withFile { fd in
            guard fdatasync(fd) == 0 else { throw EnvironmentError("cannot flush \(path): \(String(cString: strerror(errno)))") }
            return UInt64(max(0, lseek(fd, 0, SEEK_END)))
        }
    }

    /// After a crash: appends those of `lines` (held durably by `spool/node.log`) that the log
    /// does not hold after byte `offset` (its flushed size when they began), then flushes it
    /// and returns its size. A line the crash tore is ended first, never removed; lines others
    /// appended meanwhile (`cafe run` on this machine) stay where they are.
    func restore(_ lines: [String], after offset: UInt64) throws -> UInt64 {
        guard !lines.isEmpty else { return try flush() }
        let bytes = FileSystem.exists(path) ? try FileSystem.read(path, maxBytes: Int(Int32.max)) : []
        // A log shorter than the mark was rotated or truncated: whatever it holds is after it.
        let tail = UInt64(bytes.count) >= offset ? bytes[Int(offset)...] : bytes[...]
        var held: [Substring: Int] = [:]
        // The last piece is empty, or a line the crash tore: a torn line does not count as held.
        for line in String(decoding: tail, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            held[line, default: 0] += 1
        }
        var missing: [String] = []
        for line in lines {
            let key = Substring(line.dropLast())
            if let count = held[key], count > 0 { held[key] = count - 1 } else { missing.append(line) }
        }
        if !missing.isEmpty, let last = bytes.last, last != UInt8(ascii: "\n") { missing.insert("\n", at: 0) }
        try append(missing, synced: false)
        return try flush()
    }

    private func withFile<T>(_ body: (Int32) throws -> T) throws -> T {
        try lock.withLock {
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw EnvironmentError("cannot open the audit log \(path): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            return try body(fd)
        }
    }

    static func quoted(_ value: String) -> String {
        let plain = !value.isEmpty && value.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_./:@,*".unicodeScalars.contains($0))
        }
        if plain { return value }
        // Quotes and backslashes escaped here; control and bidirectional characters as on a terminal.
        return "\"" + TerminalText.safe(value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")) + "\""
    }
}
