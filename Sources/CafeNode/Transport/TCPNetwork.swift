import CafeCore
import CafeCrypto
import CafeWire
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Synchronization

/// Peers over TCP: one reused connection per peer (whoever dialled it), opened by the
/// mutually authenticated ``LinkHandshake`` and then sealed frame by frame (``LinkSealer``,
/// length-prefixed), reconnection with backoff and jitter, handshake and idle timeouts, and a
/// bound on what may queue for a slow peer. Nothing crosses the network in clear but the
/// handshake's ephemeral keys and nonces.
public final class TCPNetwork: PeerTransport, @unchecked Sendable {
    /// Envelopes from one link that may wait for the node at once (``LinkWindow``), and their
    /// bytes: 32, and 16 MiB (an envelope alone may be as large as a frame).
    static let unhandledPerLink = (envelopes: 32, bytes: 16 << 20)

    public struct Settings: Sendable {
        public var handshakeTimeout: TimeAmount = .seconds(10)
        public var idleTimeout: TimeAmount = .seconds(300)
        public var connectTimeout: TimeAmount = .seconds(5)
        /// Bytes that may wait for one peer; beyond that the link is dropped as too slow (the
        /// envelopes stay in the outbox and are sent again on the next link).
        public var maxQueuedBytes = 64 << 20
        public init() {}
    }

    let current: CurrentIdentity
    var identity: NodeIdentity { current.identity }
    /// Where what arrives goes (verified there, then handled by the node).
    let inbox: NodeInbox
    let group: any EventLoopGroup
    let logger: Logger
    let clock: any WallClock
    let random: any RandomSource
    let settings: Settings
    /// Connections accepted and not yet served (see ``AcceptedConnections``).
    let accepted = AcceptedConnections<ByteBuffer, ByteBuffer>()

    private struct State {
        var sessions: [String: LinkSession] = [:]
        var dialing: Set<String> = []
        var backoff: [String: Backoff] = [:]
        /// Set by ``stop()``: no new connections, so none is left for a closed event loop.
        var stopped = false
        /// Peers whose last dial failed; each is logged once when it becomes unreachable and
        /// once when a link to it is up again.
        var unreachable: Set<String> = []
        /// Connections this node dialled, still running (inbound ones belong to ``serve(_:)``).
        var dials: [Int: Task<Void, Never>] = [:]
        var nextDial = 0
    }

    private let state: NIOLockedValueBox<State>

    public init(
        identity current: CurrentIdentity, inbox: NodeInbox, group: any EventLoopGroup, logger: Logger,
        clock: any WallClock = SystemClock(), random: any RandomSource = SystemRandom(), settings: Settings = Settings()
    ) {
        self.current = current
        self.inbox = inbox
        self.group = group
        self.logger = logger
        self.clock = clock
        self.random = random
        self.settings = settings
        state = NIOLockedValueBox(State())
    }

    /// `cafe_links_up`: how many peers have a link now.
    private func recordLinks() {
        NodeMetrics.linksUp.record(state.withLockedValue { $0.sessions.count })
    }

    // MARK: - PeerTransport

    public func send(_ bytes: [UInt8], to peer: String) -> Bool {
        if let session = state.withLockedValue({ $0.sessions[peer] }) {
            switch session.enqueue(bytes) {
            case .queued:
                return true
            case .full:
                logger.warning("dropping the link: \(settings.maxQueuedBytes) bytes already wait for this peer", metadata: ["peer": "\(peer)"])
                session.abort()
            case .closed:
                break
            }
            state.withLockedValue { state in
                if state.sessions[peer] === session { state.sessions[peer] = nil }
            }
        }
        dial(peer)
        return false
    }

    /// Closes the links to `peers`, made with the keys and routes of the configuration before
    /// a reload, and forgets their backoff: a new link must prove the new configuration.
    public func connect(_ peer: String) {
        dial(peer)
    }

    public func peersChanged(_ peers: Set<String>) {
        let closing = state.withLockedValue { state -> [LinkSession] in
            var closing: [LinkSession] = []
            for peer in peers {
                if let session = state.sessions.removeValue(forKey: peer) { closing.append(session) }
                state.backoff[peer] = nil
                state.unreachable.remove(peer)
            }
            return closing
        }
        for session in closing { session.abort() }
    }

    // MARK: - Listening

    /// The bound, listening socket that ``serve(_:)`` accepts peer connections from.
    public typealias Listener = NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>

    /// Binds `address` and listens; peers can connect (the kernel queues them) as soon as this
    /// returns, before ``serve(_:)`` accepts them. Throws when the address cannot be bound.
    public func bind(on address: HostPort) async throws -> Listener {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: address.host, port: address.port) { channel in
                channel.eventLoop.makeCompletedFuture { try self.configure(channel, dialled: false) }
            }
        logger.info("listening on \(address)")
        return server
    }

    /// Accepts peer connections from `server` until cancelled.
    public func serve(_ server: Listener) async throws {
        try await server.acceptEach(accepted) { await self.serve($0, expected: nil) }
    }

    /// The pipeline of a connection. Before the link is up only small frames are taken: the
    /// side that accepted reads three handshake frames (message 1, message 3, the stream
    /// header), the side that dialled two (message 2, the stream header); the next frame is
    /// already a sealed envelope, up to the full limit.
    private func configure(_ channel: any Channel, dialled: Bool) throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        let logger = self.logger
        let remote = channel.remoteAddress.map { "\($0)" } ?? "?"
        // Frames first, so that the timeouts count whole frames, not bytes: a trickle of a
        // partial frame does not count as a handshake or as activity.
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(
            maxFrameBytes: EnvelopeLimits.maxBytes + SecretStreamSender.overhead,
            firstFrameMaxBytes: LinkHandshake.maxMessageBytes, firstFrames: dialled ? 2 : 3)))
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
        try channel.pipeline.syncOperations.addHandlers(
            ConnectionDeadlineHandler.handlers(handshake: settings.handshakeTimeout, idle: settings.idleTimeout) { reason in
                logger.info("closing connection: \(reason)", metadata: ["peer": "\(remote)"])
            })
        // Only an accepted connection waits for a loop to take it; a dialled one is served by
        // its dial at once, or closes with it.
        return dialled ? try NIOAsyncChannel(wrappingChannelSynchronously: channel) : try accepted.wrap(channel)
    }

    /// Closes every link, dials no more, and waits until the connections it dialled have
    /// ended. Called before the event loops shut down, so that nothing is scheduled on a loop
    /// that has gone (envelopes stay in the outbox).
    public func stop() async {
        let (sessions, dials) = state.withLockedValue { state -> ([LinkSession], [Task<Void, Never>]) in
            state.stopped = true
            defer { state.sessions = [:] }
            return (Array(state.sessions.values), Array(state.dials.values))
        }
        for session in sessions { session.close() }
        for dial in dials { dial.cancel() }
        for dial in dials { await dial.value }
    }

    // MARK: - Dialling

    /// Connects to `peer` in the background, unless a link exists, a dial is under way, or the
    /// backoff says not yet. Only peers with an `address:` are dialled.
    func dial(_ peer: String) {
        guard case .address(let address)? = identity.configuration.node.peers[peer]?.route else { return }
        let now = clock.now()
        state.withLockedValue { state in
            guard !state.stopped, state.sessions[peer] == nil, !state.dialing.contains(peer),
                state.backoff[peer, default: Backoff()].mayAttempt(now: now)
            else { return }
            state.dialing.insert(peer)
            state.nextDial += 1
            let number = state.nextDial
            // Registered under the lock, before its own removal can run, so `stop()` sees it.
            state.dials[number] = Task {
                await self.connect(to: peer, at: address)
                _ = self.state.withLockedValue { $0.dials.removeValue(forKey: number) }
            }
        }
    }

    private func connect(to peer: String, at address: HostPort) async {
        do {
            let channel = try await ClientBootstrap(group: group)
                .connectTimeout(settings.connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: address.host, port: address.port) { channel in
                    channel.eventLoop.makeCompletedFuture { try self.configure(channel, dialled: true) }
                }
            // Still "dialling" until the handshake registers the link (or the link ends),
            // so that envelopes queued meanwhile do not open a second connection. A link
            // that never completed its handshake counts as a failed attempt.
            let linked = await serve(channel, expected: peer)
            state.withLockedValue { state in
                state.dialing.remove(peer)
                if !linked { state.backoff[peer, default: Backoff()].failed(now: clock.now(), random: random) }
            }
        } catch {
            let (delay, stopped) = state.withLockedValue { state -> (Double, Bool) in
                state.dialing.remove(peer)
                return (state.backoff[peer, default: Backoff()].failed(now: clock.now(), random: random), state.stopped)
            }
            if stopped { return }
            let first = state.withLockedValue { $0.unreachable.insert(peer).inserted }
            let reason = Self.reason(error)
            if first {
                logger.notice("\(peer) is unreachable at \(address): \(reason); retrying with backoff (next in \(YAMLEmitter.formatSeconds(delay)) s)", metadata: ["peer": "\(peer)"])
            } else {
                logger.debug("cannot connect: \(reason); next attempt in \(YAMLEmitter.formatSeconds(delay)) s", metadata: ["peer": "\(peer)"])
            }
        }
    }

    // MARK: - A connection

    /// Runs one connection: the sealed-link handshake (``LinkHandshake``; this side is the
    /// initiator when it dialled `expected`), then sealed frames both ways until either side
    /// closes. Returns whether the handshake succeeded.
    @discardableResult
    func serve(_ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>, expected: String?) async -> Bool {
        let remote = channel.channel.remoteAddress.map { "\($0)" } ?? "?"
        var linked = false
        do {
            try await channel.executeThenClose { inbound, outbound in
                var frames = inbound.makeAsyncIterator()
                func next() async throws -> [UInt8] {
                    guard let frame = try await frames.next() else { throw HandshakeError("the peer closed the connection during the handshake") }
                    return Array(buffer: frame)
                }
                // The handshake in a function of its own: its ephemeral and first traffic keys
                // are released when it returns, and only the two streams live on with the link.
                func handshake() async throws -> (peer: LinkPeer, sealer: LinkSealer, opener: SecretStreamReceiver) {
                    let secrets: LinkSecrets
                    let identity = identity
                    if let expected {
                        let initiator = try LinkInitiator(
                            name: identity.name, key: identity.key, credentials: identity.credentials, peer: expected, keys: identity.keys,
                            now: clock.now())
                        try await outbound.write(ByteBuffer(bytes: initiator.first))
                        let (third, link) = try initiator.finish(try await next())
                        try await outbound.write(ByteBuffer(bytes: third))
                        secrets = link
                    } else {
                        let answered = try LinkResponder(
                            name: identity.name, key: identity.key, credentials: identity.credentials, keys: identity.keys, now: clock.now()
                        ).answer(try await next())
                        try await outbound.write(ByteBuffer(bytes: answered.second))
                        secrets = try answered.finish(try await next())
                    }
                    guard secrets.peer.name != identity.name else { throw HandshakeError("a node cannot link to itself") }
                    let sealer = LinkSealer(key: secrets.sendKey, now: { Monotonic.seconds() })
                    try await outbound.write(ByteBuffer(bytes: sealer.header))
                    guard let opener = SecretStreamReceiver(key: secrets.receiveKey, header: try await next()) else {
                        throw HandshakeError("\(secrets.peer.name) sent no valid stream header")
                    }
                    return (secrets.peer, sealer, opener)
                }
                let (linkPeer, sealer, opener) = try await handshake()
                let peer = linkPeer.name
                do {
                    for line in try current.learn(peer, credentials: linkPeer.credentials, proof: linkPeer.proof) {
                        logger.notice("\(line)", metadata: ["peer": "\(peer)"])
                    }
                } catch {
                    logger.error("cannot record what \(peer) presented: \(error)", metadata: ["peer": "\(peer)"])
                }
                channel.channel.pipeline.fireUserInboundEventTriggered(LinkEstablished())
                linked = true
                let session = LinkSession(channel: channel.channel, sealer: sealer, maxQueuedBytes: settings.maxQueuedBytes)
                let wasUnreachable = state.withLockedValue { state -> Bool in
                    state.sessions[peer]?.close()
                    state.sessions[peer] = session
                    state.backoff[peer]?.succeeded()
                    state.dialing.remove(peer)
                    return state.unreachable.remove(peer) != nil
                }
                recordLinks()
                if wasUnreachable { logger.notice("\(peer) is reachable again", metadata: ["peer": "\(peer)"]) }
                logger.info("link up (sealed)", metadata: ["peer": "\(peer)", "address": "\(remote)"])
                defer {
                    state.withLockedValue { state in
                        if state.sessions[peer] === session { state.sessions[peer] = nil }
                    }
                    recordLinks()
                    logger.info("link down", metadata: ["peer": "\(peer)"])
                }
                defer { session.close() }
                await inbox.reachable(peer)
                let window = LinkWindow(envelopes: Self.unhandledPerLink.envelopes, bytes: Self.unhandledPerLink.bytes)
                while let frame = try await frames.next() {
                    guard let bytes = opener.open(Array(buffer: frame)) else {
                        throw HandshakeError("a frame from \(peer) did not open (altered, replayed, reordered or cut); closing the link")
                    }
                    let size = bytes.count
                    await window.take(size)
                    inbox.hand(bytes, from: peer) { window.give(size) }
                }
            }
        } catch {
            logger.info("connection closed: \(error)", metadata: ["address": "\(remote)"])
        }
        return linked
    }

    /// A connect failure in a few words (`Connection refused`), not SwiftNIO's nested error.
    static func reason(_ error: any Error) -> String {
        if let failure = error as? NIOConnectionError, let last = failure.connectionErrors.last?.error {
            if let io = last as? IOError { return String(cString: strerror(io.errnoCode)) }
            return "\(last)"
        }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if case ChannelError.connectTimeout = error { return "no answer to the connection within the connect timeout" }
        return "\(error)"
    }

    struct HandshakeError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

/// The sending side of one live link. A frame is sealed and handed to the connection as it is
/// queued, both under one lock, so that frames are sealed in the order they are written; the
/// connection's event loop writes them. What is queued and not yet written is bounded.
final class LinkSession: Sendable {
    enum Enqueued {
        case queued
        /// The bound would be passed: the peer is too slow.
        case full
        /// The link takes no more frames: it was replaced or closed, or a write failed.
        case closed
    }

    private let channel: any Channel
    private let maxQueuedBytes: Int
    /// The sealer; its lock also keeps sealing and writing in one order.
    private let sealer: Mutex<LinkSealer>
    /// Bytes handed to the connection and not yet written.
    private let queued = Atomic(0)
    /// False once the link takes no more frames.
    private let open = Atomic(true)

    init(channel: any Channel, sealer: LinkSealer, maxQueuedBytes: Int) {
        self.channel = channel
        self.maxQueuedBytes = maxQueuedBytes
        self.sealer = Mutex(sealer)
    }

    /// Takes no more frames and closes the connection at once (the peer is too slow); what was
    /// queued is sent again later from the outbox.
    func abort() {
        close()
        channel.close(promise: nil)
    }

    /// Seals `bytes` and hands them to the connection, unless the link is closed or the bound
    /// would be passed.
    func enqueue(_ bytes: [UInt8]) -> Enqueued {
        sealer.withLock { sealer in
            let count = bytes.count
            guard open.load(ordering: .relaxed) else { return .closed }
            guard queued.load(ordering: .relaxed) + count <= maxQueuedBytes else { return .full }
            queued.add(count, ordering: .relaxed)
            let promise = channel.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenComplete { result in
                self.queued.subtract(count, ordering: .relaxed)
                if case .failure = result { self.close() }
            }
            channel.writeAndFlush(ByteBuffer(bytes: sealer.seal(bytes)), promise: promise)
            return .queued
        }
    }

    /// Takes no more frames (a newer link to the peer replaced this one, or it ended).
    func close() {
        open.store(false, ordering: .relaxed)
    }
}
