import CafeCore
import CafeNode
import Glibc
import Synchronization
import CafeTestSupport
import Testing

/// A `cafe-node` process started for a test, logging to a file.
final class DaemonProcess {
    let pid: pid_t
    let log: String
    private(set) var exitStatus: Int32?

    init(arguments: [String], log: String, environment extra: [String] = []) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let variables: [String] = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent-home"] + extra
        let environment: [UnsafeMutablePointer<CChar>?] = variables.map { strdup($0) } + [nil]
        defer { for pointer in environment { free(pointer) } }
        let status = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environment)
        guard status == 0 else { throw EnvironmentError("cannot start \(arguments[0]): \(String(cString: strerror(status)))") }
        self.pid = pid
        self.log = log
    }

    /// Sends `signal` and, unless it is SIGSTOP or SIGCONT, waits for the process to end.
    /// Never signals a process this one has already reaped: its pid may belong to another
    /// process by now (a `cafe` command of a test running in parallel).
    @discardableResult
    func signal(_ signal: Int32) -> Int32? {
        guard exitStatus == nil else { return exitStatus }
        kill(pid, signal)
        if signal == SIGSTOP || signal == SIGCONT { return nil }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        exitStatus = Self.decode(status)
        return exitStatus
    }

    var isRunning: Bool {
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        switch waitpid(pid, &status, WNOHANG) {
        case 0:
            return true
        case pid:
            // Reaped now: remember it, so that no later signal goes to whoever gets the pid next.
            exitStatus = Self.decode(status)
        default:
            exitStatus = -1  // not a child any more: gone, status unknown
        }
        return false
    }

    /// An exit status as a shell shows it: the code, or 128 + the signal.
    static func decode(_ status: Int32) -> Int32 {
        (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    var logText: String { (try? FileSystem.read(log, maxBytes: 64 << 20)).map { String(decoding: $0, as: UTF8.self) } ?? "" }

    deinit { signal(SIGKILL) }
}

/// Several real nodes on 127.0.0.1, each with its own home and free port, all knowing each
/// other's keys. Removed, processes and files, by `cleanup()`.
final class MeshFixture {
    let directory = TemporaryDirectory("cafe-mesh")
    let names: [String]
    var ports: [String: Int] = [:]
    var keys: [String: String] = [:]
    var processes: [String: DaemonProcess] = [:]

    /// `routes[node][peer]` replaces the default `address: 127.0.0.1:PORT` of that peer entry
    /// (for example `via: gateway`); `nil` leaves the peer out of that node's node.yaml.
    /// Routes may say `PORT(name)` for the port `name` listens on; `listen[name]` replaces its
    /// listening address (default 127.0.0.1).
    init(_ names: [String], settings: String = "", routes: [String: [String: String?]] = [:], listen: [String: String] = [:]) throws {
        self.names = names
        for name in names {
            let created = cafe(["init", "--home", home(name), "--name", name, "--listen", "127.0.0.1:1"])
            guard created.status == 0 else { throw EnvironmentError("cafe init failed (status \(created.status)): \(created.stderr)") }
            keys[name] = String(created.stdout.split(separator: " ")[1].dropLast(created.stdout.hasSuffix("\n") ? 1 : 0))
            ports[name] = try Self.freePort()
        }
        for name in names {
            let peers = names.filter { $0 != name }.compactMap { peer -> String? in
                let route: String
                if let custom = routes[name]?[peer] {
                    guard var custom else { return nil }
                    for (other, port) in ports { custom = custom.replacing("PORT(\(other))", with: String(port)) }
                    route = custom
                } else {
                    route = "address: 127.0.0.1:\(ports[peer]!)"
                }
                return "  \(peer): {\(route), key: \"\(keys[peer]!)\"}"
            }
            try write(name, "node.yaml", """
                name: \(name)
                listen: \(listen[name] ?? "127.0.0.1"):\(ports[name]!)
                peers:
                \(peers.joined(separator: "\n"))
                \(settings.isEmpty ? "" : "settings: {\(settings)}")
                """)
        }
    }

    func home(_ name: String) -> String { directory.path + "/" + name }

    func write(_ name: String, _ file: String, _ text: String) throws {
        try FileSystem.writeAtomically(Array(text.utf8), to: home(name) + "/config/" + file)
    }

    /// Replaces the route of `peer` in `node`'s node.yaml.
    func rewritePeer(_ node: String, peer: String, route: String) throws {
        let path = home(node) + "/config/node.yaml"
        let lines = String(decoding: try FileSystem.read(path, maxBytes: 1 << 20), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let rewritten = lines.map { line in
            line.hasPrefix("  \(peer): {") ? "  \(peer): {\(route), key: \"\(keys[peer]!)\"}" : String(line)
        }
        try FileSystem.writeAtomically(Array(rewritten.joined(separator: "\n").utf8), to: path)
    }

    /// Starts the node (after `prefix`, such as `ip netns exec NS`, with `environment` added to
    /// its own) and waits until its control socket answers.
    func start(_ name: String, prefix: [String] = [], environment: [String] = []) throws {
        let process = try DaemonProcess(
            arguments: prefix + [Binaries.cafeNode, "--home", home(name), "--log-level", "debug", "--shutdown-grace", "2"],
            log: directory.path + "/\(name).log", environment: environment)
        processes[name] = process
        try waitUntil("\(name) answers on its control socket", timeout: 20) {
            guard process.isRunning else { throw EnvironmentError("\(name) exited early:\n\(process.logText)") }
            return (try? ControlClient(home: NodeHome(home(name)))) != nil
        }
    }

    func startAll() throws { for name in names { try start(name) } }

    /// SIGTERM and wait: the exit status.
    @discardableResult
    func stop(_ name: String) -> Int32? { processes[name]?.signal(SIGTERM) }

    func kill9(_ name: String) { processes[name]?.signal(SIGKILL) }

    /// Whether the node's process is still running.
    func isRunning(_ name: String) -> Bool { processes[name]?.isRunning ?? false }

    func log(_ name: String) -> String { processes[name]?.logText ?? "" }

    /// ``waitUntil(_:timeout:_:)`` that, on timeout, reports the last lines of every node's log.
    func waitUntil(_ what: String, timeout: Double, _ condition: () throws -> Bool) throws {
        do {
            try CafeNodeTests.waitUntil(what, timeout: timeout, condition)
        } catch {
            let logs = names.map { name in
                "--- \(name) ---\n" + log(name).split(separator: "\n").suffix(25).joined(separator: "\n")
            }
            throw EnvironmentError("\(error)\n" + logs.joined(separator: "\n"))
        }
    }

    func cleanup() {
        for process in processes.values { process.signal(SIGKILL) }
        directory.cleanup()
    }

    /// A TCP port on 127.0.0.1 that nobody listens on and that this process has not handed
    /// out before. Ports come from 10000-31999, below the kernel's ephemeral range
    /// (32768-60999 here), so an outgoing connection of another node cannot take one between
    /// this draw and the node's bind; a random start keeps concurrent test processes apart.
    static func freePort() throws -> Int {
        try PortAllocator.shared.withLock { next in
            for _ in 0..<PortAllocator.range.count {
                let candidate = next
                next = candidate + 1 == PortAllocator.range.upperBound ? PortAllocator.range.lowerBound : candidate + 1
                if Self.isFree(candidate) { return candidate }
            }
            throw EnvironmentError("no free port in \(PortAllocator.range)")
        }
    }

    /// True when a listener could bind `port` on 127.0.0.1 now.
    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

/// The next port ``MeshFixture/freePort()`` tries; never goes back over a port it handed out.
enum PortAllocator {
    static let range = 10000..<32000
    static let shared = Mutex(range.lowerBound + Int(getpid()) * 7919 % range.count)
}

/// Polls `condition` until it holds, failing after `timeout` seconds with `what` in the message.
func waitUntil(_ what: String, timeout: Double, _ condition: () throws -> Bool) throws {
    let deadline = Monotonic.seconds() + timeout
    while Monotonic.seconds() < deadline {
        if try condition() { return }
        usleep(20_000)
    }
    throw EnvironmentError("timed out after \(timeout) s waiting until \(what)")
}

/// Lines of a file, or 0 when it does not exist.
func lineCount(_ path: String) -> Int {
    guard let bytes = try? FileSystem.read(path, maxBytes: 1 << 20) else { return 0 }
    return bytes.filter { $0 == UInt8(ascii: "\n") }.count
}
