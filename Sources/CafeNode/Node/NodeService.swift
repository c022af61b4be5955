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
            // Ordered services: a graceful shutdown stops them in reverse order, each once the
            // one after it has ended: no more control requests (and reloads, and scrapes), then
            // no new work while running commands finish (up to the grace), then no links.
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
            if let listener {
                services.append(.init(service: ListenerService("peer listener") { try await network.serve(listener) }))
            }
            services.append(.init(service: NodeLoopService(node: node, grace: shutdownGrace, systemd: systemd, name: identity.name)))
            services.append(.init(service: ListenerService("control socket") { try await control.serve(controlListener) }))
            if let metrics, let metricsListener {
                services.append(.init(service: ListenerService("metrics") { try await metrics.endpoint.serve(metricsListener) }))
            }
            services.append(.init(service: ListenerService("SIGHUP reloads") {
                for await _ in hangups {
                    logger.notice("SIGHUP: reloading the config")
                    switch await node.reload() {
                    case .applied(let generation, _): systemd.notify("STATUS=\(identity.name): config generation \(generation) applied")
                    case .refused(let generation, let problems):
                        systemd.notify("STATUS=\(identity.name): reload refused (\(problems.count) problem(s)); still on config generation \(generation)")
                    }
                }
            }))
            let inner = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: logger))
            try await withGracefulShutdownHandler {
                try await inner.run()
            } onGracefulShutdown: {
                Task { await inner.triggerGracefulShutdown() }
            }
        } catch {
            logger.critical("\(error)")
            await node.shutdown(grace: 0)
            await network.stop()
            try? await group.shutdownGracefully()
            throw error
        }
        await network.stop()
        unlink(home.controlSocket)
        try await group.shutdownGracefully()
        logger.info("stopped")
    }
}

/// A listener (or any loop) as a service: it runs until the graceful shutdown reaches it, and
/// is then cancelled. Ending on its own (a listener that failed) ends the whole node.
struct ListenerService: Service, CustomStringConvertible {
    let description: String
    let body: @Sendable () async throws -> Void

    init(_ description: String, _ body: @escaping @Sendable () async throws -> Void) {
        self.description = description
        self.body = body
    }

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown(body)
        } catch is CancellationError {
        }
    }
}

/// The node's own loop: what the transports bring; a tick every 100 ms, or every second while
/// the node is quiet (``Node/tick()``; it wakes as soon as there is work with deadlines); a
/// drop-box scan with the tick, at most every 300 ms. At the graceful shutdown it stops taking
/// work and lets running commands finish (up to `grace` seconds) before it ends, while the
/// links, stopped after it, still carry results.
struct NodeLoopService: Service, CustomStringConvertible {
    let node: Node
    let grace: Double
    let systemd: SystemdNotifier
    let name: String
    var description: String { "node loop" }

    func run() async throws {
        let stop: (any Error)? = await withTaskGroup(of: (any Error)?.self) { tasks in
            tasks.addTask {
                await node.run()
                return nil
            }
            tasks.addTask {
                let clock = ContinuousClock()
                var quiet = false
                var lastScan = clock.now
                while true {
                    if quiet {
                        guard await node.busy.sleep(upTo: .seconds(1)) else { break }
                    } else {
                        guard (try? await Task.sleep(for: .milliseconds(100))) != nil else { break }
                    }
                    quiet = await node.tick()
                    if lastScan.duration(to: clock.now) >= .milliseconds(300) {
                        lastScan = clock.now
                        await node.scanDropbox()
                    }
                }
                return nil
            }
            defer { tasks.cancelAll() }
            // Whichever comes first: the graceful shutdown (nil), a write that failed, or the
            // cancellation of the group (another service failed).
            let first = await withTaskGroup(of: (any Error)?.self) { first in
                first.addTask { (try? await gracefulShutdown()) == nil ? CancellationError() : nil }
                first.addTask {
                    for await error in node.failures.stream { return error }
                    return CancellationError()
                }
                defer { first.cancelAll() }
                return await first.next() ?? nil
            }
            guard first == nil else {
                await node.shutdown(grace: 0)
                return first
            }
            node.logger.info("stopping: no longer accepting work")
            systemd.notify("STOPPING=1", "STATUS=\(name) stopping: letting running commands finish")
            await node.shutdown(grace: grace)
            return nil
        }
        // A write that failed stops the node: its supervisor starts it again, and it resumes
        // from what the disk holds.
        if let stop, !(stop is CancellationError) { throw EnvironmentError("cannot write to the node's home: \(stop)", exitStatus: 1) }
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
