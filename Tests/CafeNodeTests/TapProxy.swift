import CafeCore
import Glibc
import Synchronization

/// A TCP proxy on 127.0.0.1 that passes every byte between a client and `target` unchanged and
/// records both directions, per connection: what anyone on the path between two sites sees.
final class TapProxy: Sendable {
    let port: Int
    private let listener: Int32
    private let recorded = Mutex<[(toTarget: [UInt8], fromTarget: [UInt8])]>([])
    private let stopped = Atomic<Bool>(false)

    init(to target: Int) throws {
        port = try MeshFixture.freePort()
        let listener = try Self.listening(on: port)
        self.listener = listener
        BlockingThread.start { [self] in
            while !stopped.load(ordering: .relaxed) {
                var entry = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
                guard poll(&entry, 1, 100) > 0 else { continue }
                let client = accept(listener, nil, nil)
                guard client >= 0 else { continue }
                let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var address = Self.loopback(target)
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
                }
                guard connected else {
                    close(client)
                    close(server)
                    continue
                }
                let index = recorded.withLock { connections in
                    connections.append(([], []))
                    return connections.count - 1
                }
                BlockingThread.start { [self] in relay(client: client, server: server, index: index) }
            }
            close(listener)
        }
    }

    /// Both directions of every connection so far.
    var connections: [(toTarget: [UInt8], fromTarget: [UInt8])] { recorded.withLock { $0 } }

    /// Everything that crossed, both ways, all connections.
    var allBytes: [UInt8] { connections.flatMap { $0.toTarget + $0.fromTarget } }

    func stop() { stopped.store(true, ordering: .relaxed) }

    private func relay(client: Int32, server: Int32, index: Int) {
        defer {
            close(client)
            close(server)
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !stopped.load(ordering: .relaxed) {
            var entries = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: server, events: Int16(POLLIN), revents: 0)]
            guard poll(&entries, 2, 100) >= 0 else { return }
            for (position, entry) in entries.enumerated() where entry.revents != 0 {
                let from = position == 0 ? client : server
                let to = position == 0 ? server : client
                let count = read(from, &chunk, chunk.count)
                guard count > 0 else { return }
                recorded.withLock { connections in
                    if position == 0 {
                        connections[index].toTarget += chunk[0..<count]
                    } else {
                        connections[index].fromTarget += chunk[0..<count]
                    }
                }
                var written = 0
                while written < count {
                    let result = chunk.withUnsafeBytes { write(to, $0.baseAddress! + written, count - written) }
                    guard result > 0 else { return }
                    written += result
                }
            }
        }
    }

    /// A socket listening on 127.0.0.1:`port`.
    static func listening(on port: Int) throws -> Int32 {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard bound, listen(listener, 16) == 0 else {
            close(listener)
            throw EnvironmentError("cannot listen on 127.0.0.1:\(port)")
        }
        return listener
    }

    static func loopback(_ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }
}
