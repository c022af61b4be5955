import CafeCore
import CafeCrypto
import CafeWire
import Glibc

/// A hand-driven TCP peer for tests: raw bytes, frames, and signed envelopes, with timeouts.
final class RawPeer {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw EnvironmentError("cannot connect to port \(port)") }
    }

    deinit { close(fd) }

    func sendRaw(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    func sendFrame(_ bytes: [UInt8]) {
        sendRaw(withUnsafeBytes(of: UInt32(bytes.count).bigEndian, Array.init) + bytes)
    }

    /// The next frame, or nil if the connection closed (or nothing came within `timeout`).
    func readFrame(timeout: Double = 10) -> [UInt8]? {
        let deadline = Monotonic.seconds() + timeout
        while true {
            if buffer.count >= 4 {
                let length = buffer[0..<4].reduce(0) { $0 << 8 | Int($1) }
                if buffer.count >= 4 + length {
                    let frame = Array(buffer[4..<(4 + length)])
                    buffer.removeFirst(4 + length)
                    return frame
                }
            }
            guard readMore(until: deadline) else { return nil }
        }
    }

    /// True when the other side closes the connection within `timeout`.
    func closedByPeer(within timeout: Double) -> Bool {
        let deadline = Monotonic.seconds() + timeout
        while Monotonic.seconds() < deadline {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 50) >= 0 else { return true }
            if entry.revents != 0 {
                var chunk = [UInt8](repeating: 0, count: 4096)
                if read(fd, &chunk, chunk.count) <= 0 { return true }
            }
        }
        return false
    }

    private func readMore(until deadline: Double) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let wait = Int32(max(0, (deadline - Monotonic.seconds()) * 1000))
        guard poll(&entry, 1, wait) > 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = read(fd, &chunk, chunk.count)
        guard count > 0 else { return false }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }

    /// Says hello as `name` to `peer` and returns the peer's verified hello, if any.
    func handshake(as name: String, key: SigningKey, with peer: String, keys: KeyRing) -> Envelope? {
        let now = SystemClock().now()
        let hello = Envelope.seal(
            header: EnvelopeHeader(
                kind: .hello, id: EnvelopeID.make(time: now, random: SystemRandom()), origin: name, sender: name,
                target: peer, created: now, expires: now.adding(seconds: 60)),
            body: .hello(HelloBody(nonce: SystemRandom().hex(8))), key: key)
        sendFrame(hello.bytes)
        guard let answer = readFrame() else { return nil }
        return try? Envelope.open(answer, keys: keys)
    }
}
