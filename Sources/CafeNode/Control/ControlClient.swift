import CafeCore
import CafeWire
import Glibc
import NIOCore

/// The CLI's end of the control socket: plain blocking socket calls, one request, then events.
public final class ControlClient {
    private let fd: Int32
    private var buffer = ByteBuffer()
    /// The node's own framing, with the control server's limit.
    private var decoder = FrameDecoder(maxFrameBytes: ControlServer.maxFrameBytes)

    /// Connects to the node of `home`; throws ``NodeNotRunning`` (exit 3) when there is none.
    public init(home: NodeHome) throws {
        let path = home.controlSocket
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw EnvironmentError("cannot create a socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        // No close(fd) on the way out of a failed init: deinit runs then too (self is whole),
        // and a second close could hit a descriptor another thread has opened since.
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw EnvironmentError("the control socket path \(path) is too long for a Unix socket; use a shorter --home")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            throw NodeNotRunning(home: home, reason: String(cString: strerror(errno)))
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    public func send(_ request: ControlRequest) throws {
        let frame = FrameEncoder.frame(request.yaml)
        var offset = 0
        while offset < frame.count {
            let written = frame.withUnsafeBytes { write(fd, $0.baseAddress! + offset, frame.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw NodeNotRunning(home: nil, reason: String(cString: strerror(errno)))
            }
            offset += written
        }
    }

    /// The next event, or nil when the node closed the connection.
    public func next() throws -> ControlEvent? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let frame = try decoder.nextFrame(&buffer) {
                buffer.discardReadBytes()
                return try ControlEvent(yaml: Array(buffer: frame))
            }
            let count = read(fd, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return nil }
            buffer.writeBytes(chunk[0..<count])
        }
    }
}

/// No node answers on the control socket of a home: exit status 3.
public struct NodeNotRunning: Error, ExitCoded, CustomStringConvertible {
    public var home: NodeHome?
    public var reason: String
    public var exitStatus: Int32 { 3 }

    public init(home: NodeHome?, reason: String) {
        self.home = home
        self.reason = reason
    }

    public var description: String {
        guard let home else { return "lost the connection to cafe-node: \(reason)" }
        return "no cafe-node is running for \(home.root) (\(home.controlSocket): \(reason)); start it with `cafe-node --home \(home.root)`, or use --local"
    }
}
