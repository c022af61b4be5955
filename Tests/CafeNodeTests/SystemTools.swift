import CafeCore
import Glibc

/// Runs a program to completion (for set-up steps in tests); returns status and output.
@discardableResult
func system(_ arguments: [String], timeout: Double = 60) -> (status: Int32, output: String) {
    let outcome = POSIXSpawner().runBlocking(ProcessInvocation(
        arguments: arguments, environment: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        timeout: timeout, outputCap: 1 << 20))
    let status: Int32
    switch outcome.termination {
    case .exited(let code): status = code
    case .signaled(let signal): status = 128 + signal
    case .failedToStart: status = 127
    }
    return (status, outcome.stdout.displayText + outcome.stderr.displayText)
}

/// What the root-only tests need, checked once; `reason` says what is missing.
enum Prerequisites {
    static let isRoot = getuid() == 0

    static func executable(_ path: String) -> Bool { access(path, X_OK) == 0 }

    /// sshd, scp, sftp and ssh-keygen, and root to run sshd with its own config.
    static let openssh: (available: Bool, reason: String) = {
        guard isRoot else { return (false, "the drop-box test with a real sshd needs root") }
        for tool in ["/usr/sbin/sshd", "/usr/bin/scp", "/usr/bin/sftp", "/usr/bin/ssh-keygen"] where !executable(tool) {
            return (false, "\(tool) is missing; scripts/install-deps.sh installs openssh-server and openssh-client")
        }
        return (true, "")
    }()

    /// `ip netns` that works here (root, iproute2, a kernel that lets this process make namespaces).
    static let netns: (available: Bool, reason: String) = {
        guard isRoot else { return (false, "network-namespace tests need root") }
        guard executable("/usr/sbin/ip") || executable("/sbin/ip") || executable("/usr/bin/ip") else {
            return (false, "iproute2 (ip) is missing; scripts/install-deps.sh installs it")
        }
        let probe = "cafe-probe-\(getpid())"
        let added = system(["ip", "netns", "add", probe])
        defer { system(["ip", "netns", "delete", probe]) }
        guard added.status == 0 else { return (false, "`ip netns add` is not permitted here: \(added.output)") }
        // Entering the namespace needs mount changes some sandboxes refuse.
        let entered = system(["ip", "-n", probe, "link", "set", "lo", "up"])
        guard entered.status == 0 else { return (false, "`ip -n` cannot enter a namespace here: \(entered.output)") }
        return (true, "")
    }()

    /// Debian's chromium, to load report pages in a real headless browser.
    static let chromium: (available: Bool, reason: String) = {
        guard executable("/usr/bin/chromium") else { return (false, "/usr/bin/chromium is missing; scripts/install-deps.sh installs chromium") }
        return (true, "")
    }()
}

/// A throwaway OpenSSH server on 127.0.0.1: its own host key, key-only auth, `StrictModes no`.
final class ThrowawaySSHD {
    let directory: String
    let port: Int
    let process: DaemonProcess
    /// The private key clients use, and a known_hosts file naming the server's key.
    var clientKey: String { directory + "/client_key" }
    var knownHosts: String { directory + "/known_hosts" }

    init(directory: String) throws {
        self.directory = directory
        try FileSystem.makeDirectory(directory)
        try FileSystem.makeDirectory("/run/sshd", mode: 0o755)
        for key in ["host_key", "client_key"] {
            let made = system(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", directory + "/" + key])
            guard made.status == 0 else { throw EnvironmentError("ssh-keygen failed: \(made.output)") }
        }
        port = try MeshFixture.freePort()
        try FileSystem.writeAtomically(try FileSystem.read(directory + "/client_key.pub", maxBytes: 4096), to: directory + "/authorized_keys")
        let hostKey = String(decoding: try FileSystem.read(directory + "/host_key.pub", maxBytes: 4096), as: UTF8.self)
        let parts = hostKey.split(separator: " ")
        try FileSystem.writeAtomically(Array("[127.0.0.1]:\(port) \(parts[0]) \(parts[1])\n".utf8), to: directory + "/known_hosts")
        try FileSystem.writeAtomically(Array("""
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(directory)/host_key
            AuthorizedKeysFile \(directory)/authorized_keys
            PidFile none
            StrictModes no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            PermitRootLogin prohibit-password
            UsePAM no
            Subsystem sftp internal-sftp
            LogLevel ERROR

            """.utf8), to: directory + "/sshd_config")
        process = try DaemonProcess(
            arguments: ["/usr/sbin/sshd", "-D", "-e", "-f", directory + "/sshd_config"], log: directory + "/sshd.log")
        let port = self.port
        try waitUntil("sshd accepts connections", timeout: 10) { (try? RawPeer(port: port)) != nil }
    }

    /// The `scp:` peer entry for a drop-box directory on this server.
    func peerRoute(dropbox: String) -> String {
        "scp: {target: \"root@127.0.0.1:\(dropbox)\", port: \(port), identity: \(clientKey), options: [\"-o\", \"UserKnownHostsFile=\(knownHosts)\", \"-o\", \"StrictHostKeyChecking=yes\"]}"
    }

    func stop() { process.signal(SIGTERM) }
}
