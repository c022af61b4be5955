import CafeCore
import CafeCrypto
import CafeWire
import Logging
import NIOPosix

/// The daemon's shell around its ``NodeCore``: it feeds the core one event at a time (from the
/// transports' ``NodeInbox``, the control socket, the clock and finished runs), carries out the
/// durable writes each step asks for, in order and off the actor's executor, keeps the core's
/// new value only when all of them succeeded, and then does the rest: sends, runs commands,
/// tells followers, logs. The outcome of an effect (no link for a send, a run that ended) comes
/// back as an event of its own.
public actor Node {
    /// The identity and configuration in force, replaced whole by ``reload()``.
    public let current: CurrentIdentity
    public nonisolated var identity: NodeIdentity { current.identity }
    let clock: any WallClock
    let random: any RandomSource
    let runner: CommandRunner
    let logger: Logger
    let disk: NodeDisk
    let transport: any PeerTransport
    let inbound: AsyncStream<NodeInput>
    /// The thread the durable writes (and their `fsync`s) run on, so that the actor's executor
    /// goes on receiving and verifying while the disk works.
    let writer: NIOThreadPool

    var core: NodeCore
    /// The seen-set as opened, until ``start()`` hands it to the core.
    var seenAtOpen: [String: Timestamp]
    /// The revision of ``current`` the core has.
    var revision: Int
    /// Events waiting to be handled, and who waits for each.
    var pending: [(event: NodeEvent, done: (@Sendable () -> Void)?)] = []
    var draining = false
    var replies: [ReplyToken: CheckedContinuation<Reply, Never>] = [:]
    var nextToken = 0
    var followers: [BatchID: [Int: AsyncStream<FollowEvent>.Continuation]] = [:]
    var nextFollower = 0
    /// Commands running now, and who waits for them all to end (``shutdown(grace:)``).
    var runs = 0
    var idle: CheckedContinuation<Void, Never>?
    /// Drop-box file names already reported as unknown (each is logged once).
    var reportedDropboxNames: Set<String> = []
    /// When the gauges were last set (once a second: the outbox's oldest entry is a scan).
    var lastGauges = Timestamp(milliseconds: 0)
    /// The write that failed, once one has: the node then acts on nothing more.
    var failure: (any Error)?
    /// Yields that failure: ``NodeLoopService`` ends the node with it.
    nonisolated let failures = AsyncStream<any Error>.makeStream()
    /// Whether the core was quiet after the last step (``NodeCore/isQuiet``).
    var quiet = true
    /// Signalled when the core stops being quiet: the clock loop, which ticks once a second
    /// while the node is quiet, goes back to ten times a second.
    nonisolated let busy = Wakeup()

    public var name: String { identity.name }

    /// Opens the node's home. Call ``start()`` next to resume unfinished work, and ``run()`` to
    /// take what `inbound` brings.
    public init(
        current: CurrentIdentity, transport: any PeerTransport, inbound: AsyncStream<NodeInput>, clock: any WallClock = SystemClock(),
        random: any RandomSource = SystemRandom(), runner: CommandRunner = CommandRunner(), logger: Logger, maxParallel: Int = 32
    ) throws {
        self.current = current
        self.clock = clock
        self.random = random
        self.runner = runner
        self.logger = logger
        self.transport = transport
        self.inbound = inbound
        let state = current.state
        (disk, seenAtOpen) = try NodeDisk.open(home: state.identity.home, clock: clock, logger: logger, crashPoint: .fromEnvironment())
        core = NodeCore(identity: state.identity, random: random, maxParallel: maxParallel, now: clock.now())
        core.generation = state.generation
        revision = state.revision
        writer = NIOThreadPool(numberOfThreads: 1)
        writer.start()
    }

    deinit {
        writer.shutdownGracefully { _ in }
    }

    /// Resumes everything a previous run left unfinished: queued and running batches, requests
    /// stored but not run, requests interrupted while running, results not yet delivered.
    public func start() async throws {
        let loaded = try disk.load(keys: identity.keys, seen: seenAtOpen)
        seenAtOpen = [:]
        await process(.start(loaded))
        if let failure { throw failure }
    }

    /// Takes what the transports bring until the inbox is finished.
    public func run() async {
        for await input in inbound { enqueue(input.event, input.done) }
    }

    /// Periodic work: batch deadlines, retransmissions, pruning of expired ids; the gauges.
    /// Returns whether the node is quiet (``NodeCore/isQuiet``): nothing waits on the clock at a
    /// finer grain than a second, so the next tick may wait a second, or until ``busy`` is
    /// signalled.
    @discardableResult
    public func tick() async -> Bool {
        await process(.tick)
        let now = clock.now()
        if now.seconds(since: lastGauges) >= 1 {
            lastGauges = now
            NodeMetrics.batchesRunning.record(core.batches.count)
            NodeMetrics.requestsWaiting.record(core.queue.waitingCount)
            NodeMetrics.requestsRunning.record(core.queue.running)
            NodeMetrics.outboxEnvelopes.record(core.outbox.entries.count)
            NodeMetrics.outboxOldestAge.record(core.outbox.oldestAge(at: now))
        }
        return core.isQuiet
    }

    /// Stops taking new work and waits (up to `grace` seconds) for running commands to end.
    public func shutdown(grace: Double = 10) async {
        await process(.stop)
        if runs > 0 {
            await withCheckedContinuation { waiter in
                idle = waiter
                Task {
                    try? await Task.sleep(for: .milliseconds(Int64(grace * 1000)))
                    self.wakeIdle()
                }
            }
        }
        if runs > 0 {
            logger.warning("stopping with \(runs) request(s) still running; they will be reported as interrupted after a restart")
        }
        for (_, streams) in followers { for (_, stream) in streams { stream.finish() } }
        followers = [:]
    }

    func wakeIdle() {
        idle?.resume()
        idle = nil
    }

    // MARK: - Events

    /// Handles `event` (after what waits before it); returns once it has been handled.
    func process(_ event: NodeEvent) async {
        await withCheckedContinuation { done in enqueue(event) { done.resume() } }
    }

    /// Queues `event`; the first event of an idle node starts the drain.
    func enqueue(_ event: NodeEvent, _ done: (@Sendable () -> Void)?) {
        pending.append((event, done))
        guard !draining else { return }
        draining = true
        Task { await drain() }
    }

    func drain() async {
        while !pending.isEmpty {
            let identity = current.state
            if identity.revision != revision {
                revision = identity.revision
                await step([(.identity(identity.identity, generation: identity.generation), nil)])
            }
            // What queued up while the disk worked is handled together: one group of writes.
            let group = Array(pending.prefix(Self.maxGroup))
            pending.removeFirst(group.count)
            await step(group)
        }
        draining = false
    }

    /// The most events handled in one group.
    static let maxGroup = 64

    /// One group of core steps: the core decides each event in turn; the durable writes of
    /// them all are carried out in order on the writer thread (appends flushed together: group
    /// commit); only when all of them succeeded are the other effects carried out, event by
    /// event. A write that fails stops the node (crash-only): it acts on nothing of the group,
    /// answers every waiting caller why, and ends (``failures``), so that its supervisor starts
    /// it again on what its disk holds. (Keeping a copy of the core to roll back to instead
    /// costs a copy of every collection a step changes: half the throughput, measured.)
    func step(_ group: [(event: NodeEvent, done: (@Sendable () -> Void)?)]) async {
        defer { for item in group { item.done?() } }
        guard failure == nil else {
            for case (.submit(_, let token), _) in group { reply(token, .failure(stoppedError)) }
            for case (.collectPlan(_, let token), _) in group { reply(token, .failure(stoppedError)) }
            for case (.control(_, _, let token), _) in group { reply(token, .failure(stoppedError)) }
            return
        }
        let decided = group.map { item in (event: item.event, effects: core.handle(item.event, now: clock.now())) }
        let writes = decided.flatMap { step in
            step.effects.compactMap { effect -> DurableWrite? in
                if case .write(let write) = effect { return write }
                return nil
            }
        }
        if !writes.isEmpty {
            do {
                let disk = disk
                if writes.contains(where: \.waitsForDisk) {
                    try await writer.runIfActive { try disk.apply(writes) }
                } else {
                    try disk.apply(writes)
                }
            } catch {
                logger.critical(
                    "cannot write to \(identity.home.root): \(error); stopping without acting on \(decided.map(\.event.summary).joined(separator: ", ")), so that a restart resumes from what the disk holds")
                failure = error
                for (_, effects) in decided {
                    for case .reply(let token, _) in effects { reply(token, .failure(stoppedError)) }
                }
                failures.continuation.yield(error)
                return
            }
        }
        var followUps: [NodeEvent] = []
        for (_, effects) in decided {
            for effect in effects { perform(effect, followUps: &followUps) }
        }
        pending.insert(contentsOf: followUps.map { ($0, nil) }, at: 0)
        let wasQuiet = quiet
        quiet = core.isQuiet
        if wasQuiet && !quiet { busy.signal() }
    }

    /// What a caller hears once the node has stopped on a failed write.
    var stoppedError: EnvironmentError {
        EnvironmentError(
            "cafe-node cannot write to its home (\(failure.map { "\($0)" } ?? "")) and has stopped; nothing of this was done (see the node's log)",
            exitStatus: 3)
    }

    func perform(_ effect: NodeEffect, followUps: inout [NodeEvent]) {
        switch effect {
        case .write:
            break
        case .transmit(let envelope, let peer, let transmission):
            if !transport.send(envelope.bytes, to: peer) {
                followUps.append(.undelivered(envelope, to: peer, transmission))
            } else if case .poke = transmission {
                followUps.append(.reachable(peer))
            }
        case .loopback(var envelope):
            // Signed by this node a moment ago: its signer is known without verifying the
            // signature a second time.
            envelope.signer = try? identity.keys.proofs(for: name, credentials: identity.credentials).first?.checked(at: envelope.header.created)
            pending.append((.envelope(OpenedEnvelope(envelope, keys: identity.keys), from: name), nil))
        case .connect(let peer):
            transport.connect(peer)
        case .run(let order):
            runs += 1
            Task {
                let result = await LocalExecutor(node: name, commandMap: order.commandMap, runner: runner)
                    .runRecordingDigest(order.request, batch: order.batch)
                for command in result.commands { NodeMetrics.commandDuration.recordNanoseconds(Int64(command.duration * 1e9)) }
                self.finishedRun(order.id, result)
            }
        case .learn(let peer, let proof, let credentials):
            do {
                for line in try current.learn(peer, credentials: credentials, proof: proof) {
                    logger.notice("\(line)", metadata: ["peer": "\(peer)"])
                }
            } catch {
                logger.error("cannot record \(peer)'s certificate: \(error)")
            }
        case .notify(let id, let event):
            for (_, continuation) in followers[id] ?? [:] { continuation.yield(event) }
        case .endFollowers(let id):
            for (_, stream) in followers.removeValue(forKey: id) ?? [:] { stream.finish() }
        case .reply(let token, let answer):
            reply(token, answer)
        case .log(let level, let message, let metadata):
            logger.log(level: level, "\(message)", metadata: metadata)
        case .metric(let metric):
            switch metric {
            case .envelopeReceived: NodeMetrics.envelopesReceived.increment()
            case .refused(let reason): NodeMetrics.refused(reason)
            case .requestFinished(let state): NodeMetrics.requestFinished(state)
            case .batchFinished(let state): NodeMetrics.batchFinished(state)
            }
        }
    }

    func finishedRun(_ id: RunID, _ result: HostResult) {
        runs -= 1
        enqueue(.ran(id, result), nil)
        if runs == 0 { wakeIdle() }
    }

    func reply(_ token: ReplyToken, _ answer: Reply) {
        replies.removeValue(forKey: token)?.resume(returning: answer)
    }

    /// Sends the core an event that carries a reply token, and waits for the answer.
    func ask(_ event: (ReplyToken) -> NodeEvent) async -> Reply {
        let token = nextToken
        nextToken += 1
        return await withCheckedContinuation { waiter in
            replies[token] = waiter
            enqueue(event(token), nil)
        }
    }

    // MARK: - Followers

    /// Events of batch `id` from now on, until it ends.
    public func follow(_ id: BatchID) -> AsyncStream<FollowEvent> {
        let (stream, continuation) = AsyncStream<FollowEvent>.makeStream(bufferingPolicy: .unbounded)
        nextFollower += 1
        let token = nextFollower
        followers[id, default: [:]][token] = continuation
        continuation.onTermination = { _ in Task { await self.unfollow(id, token) } }
        return stream
    }

    func unfollow(_ id: BatchID, _ token: Int) {
        followers[id]?[token] = nil
    }

    /// Where batch `id` stands, for `cafe wait ID`: its events from now on while it runs, or
    /// its executed file once it has ended. Decided in one step, so a batch that ends at that
    /// moment is reported once, either way.
    public enum Following: Sendable {
        case running(AsyncStream<FollowEvent>)
        case ended(BatchState, path: String)
        case unknown
    }

    public func following(_ id: BatchID) -> Following {
        if core.batches[id] != nil { return .running(follow(id)) }
        guard let (folder, path) = identity.home.executedBatchFile(id) else { return .unknown }
        return .ended(folder == .done ? .done : .error, path: path)
    }
}

extension NodeEvent {
    /// What the event is, in a few words, for the log.
    var summary: String {
        switch self {
        case .start: "the start"
        case .envelope(let opened, let peer): "\(opened.envelope.header.kind.rawValue) \(opened.envelope.header.id) from \(peer)"
        case .tick: "a tick"
        case .submit(let order, _): "batch '\(order.input.name)'"
        case .collectPlan(let order, _): "the plan of '\(order.input.name)'"
        case .control(let id, let action, _): "\(action.rawValue) of batch \(id)"
        case .ran(let run, let result): "the \(result.state.rawValue) result of \(run)"
        case .reachable(let peer): "\(peer) reachable"
        case .undelivered(let envelope, let peer, _): "no link to \(peer) for \(envelope.header.id)"
        case .identity(_, let generation): "config generation \(generation)"
        case .stop: "the stop"
        }
    }
}
