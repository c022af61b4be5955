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

    /// Appends one decision and (when `synced`) flushes it; throws when it cannot be written
    /// (callers then refuse to act: nothing runs without its audit line). Unsynced lines are
    /// flushed by ``flush()`` before anything they allow happens.
    public func record(allowed: Bool, fields: [(String, String)], reason: String, synced: Bool = true) throws {
        var line = "\(clock.now()) \(allowed ? "allow" : "deny")"
        for (key, value) in fields { line += " \(key)=\(Self.quoted(value))" }
        line += " reason=\(Self.quoted(reason))\n"
        try lock.withLock {
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw EnvironmentError("cannot open the audit log \(path): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            if synced {
                try FileSystem.appendDurably(fd: fd, Array(line.utf8), path: path)
            } else {
                try FileSystem.append(fd: fd, Array(line.utf8), path: path)
            }
        }
    }

    /// Flushes every line appended so far to disk.
    public func flush() throws {
        try lock.withLock { try FileSystem.flush(path) }
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
