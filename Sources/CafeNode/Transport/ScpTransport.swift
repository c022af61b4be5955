import CafeCore
import CafeCrypto
import CafeWire
import Glibc
import Logging
import NIOConcurrencyHelpers

/// Peers reached by copying envelope files into their drop-box with OpenSSH: `scp` uploads the
/// file under a temporary name (`.NAME.part`, which receivers ignore), then `sftp -b -` renames
/// it to `NAME.env` in the same directory, so a receiver never sees half a file. Both run in
/// batch mode (no prompts), with the peer entry's port, identity and options, as argv (no shell).
/// Uploads to one peer go one at a time, in order; a failed upload is retried by the node's
/// outbox with its backoff.
public final class ScpTransport: @unchecked Sendable {
    let staging: String
    /// Where recipients' keys come from: every file is sealed to its recipient (``DropboxFile``).
    let current: CurrentIdentity
    let spawner: any ProcessSpawner
    let logger: Logger
    let random: any RandomSource
    /// For the validity of a certificate secrets are sealed to.
    let clock: any WallClock
    /// Seconds one scp or sftp run may take.
    let timeout: Double

    private let queues = NIOLockedValueBox<[String: AsyncStream<(bytes: [UInt8], target: ScpTarget)>.Continuation]>([:])
    /// Uploads waiting per peer; beyond ``maxQueued`` the outbox keeps them until later.
    private let queued = NIOLockedValueBox<[String: Int]>([:])
    let maxQueued = 256

    public init(
        staging: String, identity current: CurrentIdentity, spawner: any ProcessSpawner = POSIXSpawner(), logger: Logger,
        random: any RandomSource = SystemRandom(), clock: any WallClock = SystemClock(), timeout: Double = 120
    ) {
        self.staging = staging
        self.clock = clock
        self.current = current
        self.spawner = spawner
        self.logger = logger
        self.random = random
        self.timeout = timeout
    }

    /// Queues an upload of `bytes` to `peer`'s drop-box; true once queued.
    public func send(_ bytes: [UInt8], to peer: String, target: ScpTarget) -> Bool {
        let admitted = queued.withLockedValue { counts -> Bool in
            guard counts[peer, default: 0] < maxQueued else { return false }
            counts[peer, default: 0] += 1
            return true
        }
        guard admitted else { return false }
        let continuation = queues.withLockedValue { queues -> AsyncStream<(bytes: [UInt8], target: ScpTarget)>.Continuation in
            if let existing = queues[peer] { return existing }
            let (stream, continuation) = AsyncStream<(bytes: [UInt8], target: ScpTarget)>.makeStream()
            queues[peer] = continuation
            Task {
                for await item in stream {
                    await self.upload(item.bytes, to: peer, target: item.target)
                    self.queued.withLockedValue { $0[peer, default: 1] -= 1 }
                }
            }
            return continuation
        }
        if case .terminated = continuation.yield((bytes, target)) { return false }
        return true
    }

    /// The argv of the two steps, for a file `local` named `name` on arrival.
    public static func commands(local: String, name: String, target: ScpTarget) -> (scp: [String], sftp: [String], script: String)? {
        guard let colon = target.target.firstIndex(of: ":") else { return nil }
        let remote = String(target.target[..<colon])
        var directory = String(target.target[target.target.index(after: colon)...])
        if directory.isEmpty { directory = "." }
        while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
        var common = ["-o", "BatchMode=yes"]
        if let identity = target.identity { common += ["-i", identity] }
        // The operator's options first: ssh keeps the first value it is given for an option.
        common += target.options + ["-o", "ConnectTimeout=15"]
        let scp = ["scp", "-q", "-B", "-P", String(target.port)] + common + ["--", local, "\(remote):\(directory)/.\(name).part"]
        let sftp = ["sftp", "-q", "-b", "-", "-P", String(target.port)] + common + ["--", remote]
        let script = "rename \"\(directory)/.\(name).part\" \"\(directory)/\(name)\"\n"
        return (scp, sftp, script)
    }

    func upload(_ bytes: [UInt8], to peer: String, target: ScpTarget) async {
        let name = random.hex(12) + ".env"
        let local = staging + "/" + name
        defer { try? FileSystem.remove(local) }
        guard let steps = Self.commands(local: local, name: name, target: target) else {
            logger.error("drop-box target '\(target.target)' is not user@host:/path", metadata: ["peer": "\(peer)"])
            return
        }
        do {
            guard let recipient = current.identity.sealingKey(for: peer, now: clock.now()) else {
                throw EnvironmentError("no key for \(peer) to seal the envelope to: give it a key: in node.yaml, or a fleet certificate it presented")
            }
            let sealed = try DropboxFile.seal(bytes, to: recipient)
            try FileSystem.makeDirectory(staging)
            try FileSystem.writeAtomically(sealed, to: local)
        } catch {
            logger.error("cannot stage an envelope for \(peer): \(error)")
            return
        }
        var environment = CommandRunner.inheritedEnvironment().map { "\($0.name)=\($0.value)" }
        if let agent = getenv("SSH_AUTH_SOCK") { environment.append("SSH_AUTH_SOCK=" + String(cString: agent)) }
        for (arguments, stdin) in [(steps.scp, nil as SecretBytes?), (steps.sftp, SecretBytes(Array(steps.script.utf8)))] {
            let outcome = await spawner.run(ProcessInvocation(
                arguments: arguments, environment: environment, stdin: stdin, timeout: timeout, outputCap: 64 << 10))
            guard outcome.termination == .exited(0), !outcome.timedOut else {
                let why = outcome.stderr.displayText.split(separator: "\n").last.map(String.init) ?? "\(outcome.termination)"
                logger.warning("drop-box upload to \(peer) failed at \(arguments[0]): \(why); it will be tried again", metadata: ["peer": "\(peer)"])
                return
            }
        }
        logger.debug("envelope copied to the drop-box of \(peer) as \(name)", metadata: ["peer": "\(peer)"])
    }
}

/// The node's transports by route: TCP for `address:` peers, the drop-box for `scp:` peers.
/// (`via:` peers never reach a transport: the node wraps their envelopes for the relay.)
public struct TransportSet: PeerTransport {
    let current: CurrentIdentity
    let tcp: TCPNetwork
    let scp: ScpTransport

    public init(identity current: CurrentIdentity, tcp: TCPNetwork, scp: ScpTransport) {
        self.current = current
        self.tcp = tcp
        self.scp = scp
    }

    public func peersChanged(_ peers: Set<String>) {
        tcp.peersChanged(peers)
    }

    public func connect(_ peer: String) {
        tcp.connect(peer)
    }

    public func send(_ bytes: [UInt8], to peer: String) -> Bool {
        switch current.identity.configuration.node.peers[peer]?.route {
        case .address?: tcp.send(bytes, to: peer)
        case .scp(let target)?: scp.send(bytes, to: peer, target: target)
        default: false
        }
    }
}
