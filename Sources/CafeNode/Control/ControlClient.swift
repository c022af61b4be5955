import CafeCore
import CafeWire
import Glibc
import NIOCore

/// The CLI's end of the control socket: plain blocking socket calls, one request, then events.
public final class ControlClient {
    private let fd: Int32
    private var buffer = ByteBuffer()
    /// The node's own framing, with the control server's limit.
    private var decoder = ControlServer.frameDecoder()

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

    /// The next event, or nil when the node closed the connection between frames. A frame the
    /// node's own decoder refuses (a length of zero or over the limit, or cut short by the end
    /// of the connection) and a frame that is not an event throw ``UnreadableAnswer``.
    public func next() throws -> ControlEvent? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let frame: ByteBuffer?
            do { frame = try decoder.nextFrame(&buffer) } catch { throw UnreadableAnswer(reason: error) }
            if let frame {
                buffer.discardReadBytes()
                do { return try ControlEvent(yaml: Array(buffer: frame)) } catch { throw UnreadableAnswer(reason: error) }
            }
            let count = read(fd, &chunk, chunk.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw NodeNotRunning(home: nil, reason: String(cString: strerror(errno)))
            }
            if count == 0 {
                do { try decoder.checkEnd(of: buffer) } catch { throw UnreadableAnswer(reason: error) }
                return nil
            }
            buffer.writeBytes(chunk[0..<count])
        }
    }
}

/// The node's answer on the control socket cannot be read: a frame the control socket's
/// framing refuses, or a frame that is not a ``ControlEvent``. Exit status 3, as for a node
/// that does not answer: there is no node this `cafe` can talk to.
public struct UnreadableAnswer: Error, ExitCoded, CustomStringConvertible {
    /// What the frame decoder or the event reader said (a ``FrameError`` or an `InputError`).
    public var reason: any Error
    public var exitStatus: Int32 { 3 }

    public var description: String {
        "cannot read cafe-node's answer on the control socket: \(reason) (are cafe and cafe-node the same version?)"
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
