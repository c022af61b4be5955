import Glibc

/// Tells systemd how the node stands (`Type=notify` units): one datagram per state to the
/// socket named by `$NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace), as
/// `sd_notify(3)` sends it, without linking libsystemd. Does nothing outside systemd.
public struct SystemdNotifier: Sendable {
    /// The socket's address, or nil when the node was not started by systemd.
    public let socketPath: String?

    /// Reads `$NOTIFY_SOCKET`.
    public init() {
        socketPath = getenv("NOTIFY_SOCKET").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    public init(socketPath: String?) {
        self.socketPath = socketPath
    }

    /// Sends `lines` (such as `READY=1`, `STOPPING=1`, `STATUS=…`) as one message; false when
    /// there is no socket or it cannot be reached (the node goes on either way).
    @discardableResult
    public func notify(_ lines: String...) -> Bool {
        guard let socketPath, socketPath.utf8.count < 108 else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }  // the abstract namespace
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (path.first == 0 ? 0 : 1))
        let message = Array(lines.joined(separator: "\n").utf8)
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, message, message.count, 0, $0, length) }
        }
        return sent == message.count
    }
}
