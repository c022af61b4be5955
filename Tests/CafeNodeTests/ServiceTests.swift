import CafeCore
import CafeNode
import CafeTestSupport
import Glibc
import Testing

/// cafe-node under systemd: readiness through `$NOTIFY_SOCKET`, and the unit file.
@Suite("running as a service")
struct ServiceTests {
    /// A datagram socket bound at `path`, as systemd's notify socket is.
    final class NotifySocket {
        let fd: Int32

        init(path: String) throws {
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard fd >= 0, bound == 0 else { throw EnvironmentError("cannot bind \(path): \(String(cString: strerror(errno)))") }
        }

        deinit { close(fd) }

        /// The next message, or nil after `timeout` seconds.
        func next(timeout: Double) -> String? {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(timeout * 1000)) == 1 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(fd, &buffer, buffer.count, 0)
            return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
        }
    }

    @Test("cafe-node says READY=1 once both listeners accept, and STOPPING=1 when told to stop")
    func readiness() throws {
        let mesh = try MeshFixture(["jlore"])
        defer { mesh.cleanup() }
        let notify = try NotifySocket(path: mesh.directory.path + "/notify")
        let process = try DaemonProcess(
            arguments: [Binaries.cafeNode, "--home", mesh.home("jlore"), "--shutdown-grace", "2"],
            log: mesh.directory.path + "/jlore.log", environment: ["NOTIFY_SOCKET=" + mesh.directory.path + "/notify"])
        let ready = notify.next(timeout: 20)
        #expect(ready?.hasPrefix("READY=1\nSTATUS=jlore accepting") == true, "\(ready ?? "nothing") \(process.logText)")
        // Ready means ready: the control socket and the peer port accept at that moment.
        #expect((try? ControlClient(home: NodeHome(mesh.home("jlore")))) != nil)
        #expect(!MeshFixture.isFree(mesh.ports["jlore"]!), "the peer port is bound")
        kill(process.pid, SIGHUP)
        #expect(notify.next(timeout: 10)?.hasPrefix("STATUS=jlore: config generation 2 applied") == true)
        #expect(process.signal(SIGTERM) == 0, "\(process.logText)")
        #expect(notify.next(timeout: 5)?.hasPrefix("STOPPING=1") == true)
    }

    @Test("the systemd unit passes systemd-analyze verify with the installed paths",
          .enabled(if: FileSystem.exists("/usr/bin/systemd-analyze"), "SKIPPED: systemd-analyze is not installed here"))
    func unitFile() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let repository = try #require(Binaries.repository, "the package directory above the build")
        let template = String(decoding: try FileSystem.read(repository + "/contrib/systemd/cafe-node.service", maxBytes: 1 << 16), as: UTF8.self)
        #expect(template.contains("Type=notify") && template.contains("ExecStart=@PREFIX@/bin/cafe-node"))
        let binDirectory = FileSystem.parent(of: Binaries.cafeNode)
        let unit = template.replacing("@PREFIX@/bin", with: binDirectory).replacing("@PREFIX@", with: directory.path)
        try directory.write("cafe-node.service", unit)
        let outcome = POSIXSpawner().runBlocking(ProcessInvocation(
            arguments: ["/usr/bin/systemd-analyze", "verify", directory.path + "/cafe-node.service"],
            environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "SYSTEMD_LOG_LEVEL=warning"], timeout: 60, outputCap: 1 << 20))
        #expect(outcome.termination == .exited(0), "\(outcome.stderr.displayText)")
        #expect(outcome.stderr.displayText.isEmpty, "no warnings: \(outcome.stderr.displayText)")
    }

    @Test("cafe generates completion scripts for bash, zsh and fish (what scripts/install.sh installs)", arguments: ["bash", "zsh", "fish"])
    func completions(shell: String) {
        let script = cafe(["--generate-completion-script", shell])
        #expect(script.status == 0 && script.stdout.contains("cafe") && script.stdout.contains("verify"), "\(script.stderr)")
    }

    @Test("a node told to stop while connections pour in stops cleanly (no connection left half accepted)")
    func stopWhileAccepting() throws {
        let mesh = try MeshFixture(["jlore"])
        defer { mesh.cleanup() }
        for round in 1...4 {
            try mesh.start("jlore")
            var sockets: [Int32] = []
            for _ in 0..<64 {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
                var address = TapProxy.loopback(mesh.ports["jlore"]!)
                _ = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                sockets.append(fd)
            }
            let status = mesh.stop("jlore")
            for fd in sockets { close(fd) }
            #expect(status == 0, "round \(round): \(mesh.log("jlore").split(separator: "\n").suffix(30).joined(separator: "\n"))")
        }
    }
}
