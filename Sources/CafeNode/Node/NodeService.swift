import CafeCore
import Glibc
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// The whole daemon as one swift-service-lifecycle `Service`: it locks the home, opens the
/// node (recovering its spools), listens for peers and on the control socket, drives the
/// node's timers, and on graceful shutdown stops accepting, lets running commands finish
/// (up to `shutdownGrace`), and returns.
public struct NodeService: Service, CustomStringConvertible {
    let identity: NodeIdentity
    let logger: Logger
    let shutdownGrace: Double

    /// Readiness and status for systemd, when it started the node.
    let systemd: SystemdNotifier

    public init(identity: NodeIdentity, logger: Logger, shutdownGrace: Double = 10, systemd: SystemdNotifier = SystemdNotifier()) {
        self.identity = identity
        self.logger = logger
        self.shutdownGrace = shutdownGrace
        self.systemd = systemd
    }

    public var description: String { "NodeService(\(identity.name))" }

    public func run() async throws {
        let home = identity.home
        try home.createLayout()
        // The control socket lives here: only the node's user may enter.
        chmod(home.runDirectory, 0o700)
        let lock = try HomeLock(path: home.runDirectory + "/node.lock")
        defer { lock.release() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // Metrics go to a registry only when they are served. swift-metrics is bootstrapped
        // once, before the node exists: a metric made earlier (during recovery, say) would stay
        // with the no-op backend for good.
        let metrics = identity.configuration.node.metrics.map { (address: $0, endpoint: MetricsEndpoint.bootstrap(group: group, logger: logger)) }
        let settings = identity.configuration.node.settings
        // The inbox first: the transports put what arrives in it, the node takes it from there.
        let current = CurrentIdentity(identity)
        let (inbox, inbound) = NodeInbox.make(identity: current, logger: logger)
        var linkSettings = TCPNetwork.Settings()
        linkSettings.handshakeTimeout = .milliseconds(Int64(settings.handshakeTimeout * 1000))
        linkSettings.idleTimeout = .milliseconds(Int64(settings.idleTimeout * 1000))
        let network = TCPNetwork(identity: current, inbox: inbox, group: group, logger: logger, settings: linkSettings)
        let scp = ScpTransport(staging: home.spool + "/scp-out", identity: current, logger: logger)
        let node = try Node(
            current: current, transport: TransportSet(identity: current, tcp: network, scp: scp), inbound: inbound, logger: logger,
            maxParallel: settings.maxParallel)
        try await node.start()
        let control = ControlServer(node: node, path: home.controlSocket, group: group, logger: logger)
        do {
            // Ready means every listener accepts: the peer port is bound before the control
            // socket, which clients (and tests) take as the sign that the node is up.
            var listener: TCPNetwork.Listener?
            if let address = identity.configuration.node.listen {
                do {
                    listener = try await network.bind(on: address)
                } catch {
                    throw EnvironmentError("cannot listen on \(address) (node.yaml `listen`): \(error); is another program using that port?")
                }
            }
            var metricsListener: MetricsEndpoint.Listener?
            if let metrics {
                do {
                    metricsListener = try await metrics.endpoint.bind(on: metrics.address)
                } catch {
                    throw EnvironmentError("cannot serve metrics on \(metrics.address) (node.yaml `metrics`): \(error); is another program using that port?")
                }
            }
            // SIGHUP reloads the config; trapped before the node says it is ready, so that it
            // never falls back to the default action (ending the process).
            let hangups = await UnixSignalsSequence(trapping: .sighup)
            let controlListener = try await control.bind()
            logger.info("cafe-node \(CafeVersion.string) \(identity.name) started (key \(identity.key.publicKey.fingerprint)) in \(home.root)")
            // Ready now: both listeners accept (systemd's Type=notify waits for this line).
            systemd.notify("READY=1", "STATUS=\(identity.name) accepting peers and control requests")
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                if let listener {
                    tasks.addTask { try await network.serve(listener) }
                }
                tasks.addTask { try await control.serve(controlListener) }
                tasks.addTask { await node.run() }
                if let metrics, let metricsListener {
                    tasks.addTask { try await metrics.endpoint.serve(metricsListener) }
                }
                tasks.addTask {
                    for await _ in hangups {
                        logger.notice("SIGHUP: reloading the config")
                        switch await node.reload() {
                        case .applied(let generation, _): systemd.notify("STATUS=\(identity.name): config generation \(generation) applied")
                        case .refused(let generation, let problems):
                            systemd.notify("STATUS=\(identity.name): reload refused (\(problems.count) problem(s)); still on config generation \(generation)")
                        }
                    }
                }
                tasks.addTask {
                    var ticks = 0
                    while !Task.isCancelled {
                        try await Task.sleep(for: .milliseconds(100))
                        await node.tick()
                        ticks += 1
                        if ticks % 3 == 0 { await node.scanDropbox() }
                    }
                }
                tasks.addTask { try await gracefulShutdown() }
                // The first task to end (shutdown requested, or a listener failing) ends them all.
                defer { tasks.cancelAll() }
                try await tasks.next()
            }
        } catch is CancellationError {
        } catch {
            logger.critical("\(error)")
            await node.shutdown(grace: 0)
            await network.stop()
            try? await group.shutdownGracefully()
            throw error
        }
        logger.info("stopping: no longer accepting work")
        systemd.notify("STOPPING=1", "STATUS=\(identity.name) stopping: letting running commands finish")
        await node.shutdown(grace: shutdownGrace)
        // In order: no new work, then no links, then the event loops.
        await network.stop()
        unlink(home.controlSocket)
        try await group.shutdownGracefully()
        logger.info("stopped")
    }
}

/// An exclusive `flock` on `run/node.lock`: one node per home. The kernel drops it when the
/// process dies, even by kill -9. `cafe key rotate` takes it too, so a key never changes under
/// a running node.
public final class HomeLock: Sendable {
    let fd: Int32

    public init(path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw EnvironmentError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw EnvironmentError("another cafe-node is already running for this home (\(path) is locked)", exitStatus: 1)
        }
    }

    public func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
