import Glibc

/// Writes to file descriptor 2 (progress and diagnostics of the CLI and the daemon).
public enum StandardError {
    public static func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 {
                if written < 0 && errno == EINTR { continue }
                return
            }
            offset += written
        }
    }

    /// True when stderr is a terminal (for the updating progress view).
    public static var isTerminal: Bool { isatty(2) == 1 }
}
