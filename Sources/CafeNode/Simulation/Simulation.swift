import CafeCore
import CafeCrypto
import CafeWire
import Glibc

/// How one simulation runs.
public struct SimulationOptions: Sendable {
    public var seed: UInt64
    /// How many nodes the fleet may have (a number is drawn from this range).
    public var nodes: ClosedRange<Int>
    /// Whether faults are injected (drops, duplicates, delays, partitions, crashes, write and
    /// spawn failures, clock jumps).
    public var faults: Bool
    /// How many of the trace's last lines the outcome keeps.
    public var traceLines: Int

    public init(seed: UInt64, nodes: ClosedRange<Int> = 3...12, faults: Bool = true, traceLines: Int = 400) {
        self.seed = seed
        self.nodes = nodes
        self.faults = faults
        self.traceLines = max(1, traceLines)
    }
}

/// The faults one simulation injected.
public struct FaultCounts: Sendable, Equatable {
    public var dropped = 0
    public var duplicated = 0
    public var delayed = 0
    public var partitions = 0
    public var crashes = 0
    public var writeFailures = 0
    public var spawnFailures = 0
    public var clockJumps = 0

    public init() {}

    public static func + (lhs: FaultCounts, rhs: FaultCounts) -> FaultCounts {
        var sum = FaultCounts()
        sum.dropped = lhs.dropped + rhs.dropped
        sum.duplicated = lhs.duplicated + rhs.duplicated
        sum.delayed = lhs.delayed + rhs.delayed
        sum.partitions = lhs.partitions + rhs.partitions
        sum.crashes = lhs.crashes + rhs.crashes
        sum.writeFailures = lhs.writeFailures + rhs.writeFailures
        sum.spawnFailures = lhs.spawnFailures + rhs.spawnFailures
        sum.clockJumps = lhs.clockJumps + rhs.clockJumps
        return sum
    }
}

/// What one simulation did and found.
public struct SimulationOutcome: Sendable {
    public var seed: UInt64
    public var nodes = 0
    /// Core steps taken (events handled).
    public var steps = 0
    /// Invariant checks made.
    public var checks = 0
    /// Batches accepted (their original saved), and how many of them ended with their executed file.
    public var batches = 0
    public var ended = 0
    public var runs = 0
    public var faults = FaultCounts()
    /// Broken invariants, each with the simulated time and what broke.
    public var violations: [String] = []
    /// The last lines of the trace (what each node handled, and the faults).
    public var trace: [String] = []
    /// A digest of the whole trace: two runs of one seed have the same.
    public var traceDigest: UInt64 = 0xcbf2_9ce4_8422_2325
    public var passed: Bool { violations.isEmpty }
}

/// A deterministic simulation of a fleet of ``NodeCore``s in one process: a seeded generator
/// draws the fleet, the batches and every fault; an in-memory network carries the real signed
/// envelopes (real signatures, real YAML); a manual clock gives each node its time (with skew
/// and jumps); a fake spawner answers runs; each node's disk keeps synced and unsynced state,
/// and a crash at any effect boundary loses what was not synced. After every step and at the
/// end, every invariant is checked. One seed always gives the same trace.
public enum Simulation {
    /// Runs the simulation of `options.seed`; throws only when the fleet cannot be set up.
    public static func run(_ options: SimulationOptions) throws -> SimulationOutcome {
        var run = try SimulationRun(options)
        run.go()
        return run.outcome
    }
}

/// One simulation in progress.
struct SimulationRun {
    struct Node {
        var identity: NodeIdentity
        var core: NodeCore?
        var disk: SimulatedDisk
        var random: SeededRandomSource
        /// Seconds this node's clock is ahead of the simulation's.
        var skew: Double = 0
        /// One more at each crash: what was scheduled for an earlier life is dropped.
        var life = 0
        /// Until when it is cut off from every other node.
        var isolatedUntil: Double = 0
    }

    enum Action {
        case deliver(to: String, from: String, bytes: [UInt8])
        case event(String, life: Int, NodeEvent)
        case tick(String)
        case submit(String, number: Int)
        case control(String, BatchID, BatchControl)
        case restart(String)
        case partition
        case heal(String)
    }

    struct Scheduled: Comparable {
        var time: Double
        var order: Int
        var action: Action
        static func < (lhs: Scheduled, rhs: Scheduled) -> Bool { (lhs.time, lhs.order) < (rhs.time, rhs.order) }
        static func == (lhs: Scheduled, rhs: Scheduled) -> Bool { (lhs.time, lhs.order) == (rhs.time, rhs.order) }
    }

    static let epoch = Timestamp(iso8601: "2026-12-01T00:00:00.000Z")!
    /// Faults stop after this many simulated seconds, so that the fleet can settle.
    static let faultPhase: Double = 120
    /// A simulation that has not settled by then has a batch that never ended.
    static let limit: Double = 3600

    let options: SimulationOptions
    let random: SeededRandomSource
    let network: InMemoryNetwork
    let fleet: SimulatedFleet
    var nodes: [String: Node] = [:]
    var queue = MinHeap<Scheduled>()
    var order = 0
    var time: Double = 0
    var outcome: SimulationOutcome
    var batchesToSubmit = 0
    var submitted = 0
    /// Runs each host started, by run.
    var started: [String: [RunID: Int]] = [:]
    var nextToken = 0
    var lines: [String] = []
    /// Scheduled actions other than ticks, partitions and submissions: while any is left, the
    /// fleet is not quiet.
    var inFlight = 0

    init(_ options: SimulationOptions) throws {
        self.options = options
        random = SeededRandomSource(seed: options.seed)
        network = InMemoryNetwork(random: random, faults: options.faults)
        outcome = SimulationOutcome(seed: options.seed)
        let span = UInt64(options.nodes.count)
        let count = options.nodes.lowerBound + Int(random.next() % span)
        let directory = try FileSystem.makeTemporaryDirectory("cafe-sim")
        defer { _ = try? FileSystem.removeTree(directory) }
        fleet = try SimulatedFleet(count: count, random: random, directory: directory)
        outcome.nodes = fleet.identities.count
        for (name, identity) in fleet.identities.sorted(by: { $0.key < $1.key }) {
            let seed = random.next()
            nodes[name] = Node(identity: identity, core: nil, disk: SimulatedDisk(home: identity.home), random: SeededRandomSource(seed: seed))
        }
        batchesToSubmit = 1 + Int(random.next() % 4)
    }

    // MARK: - Randomness and scheduling

    func chance(_ p: Double) -> Bool { network.chance(p) }
    func uniform(_ low: Double, _ high: Double) -> Double { network.uniform(low, high) }

    mutating func schedule(_ delay: Double, _ action: Action) {
        if Self.keepsBusy(action) { inFlight += 1 }
        order += 1
        queue.push(Scheduled(time: time + max(0, delay), order: order, action: action))
    }

    mutating func note(_ line: String) {
        let text = "\(Int64((time * 1000).rounded()))ms \(line)"
        for byte in text.utf8 {
            outcome.traceDigest = (outcome.traceDigest ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        lines.append(text)
        if lines.count > options.traceLines + options.traceLines / 4 { lines.removeFirst(lines.count - options.traceLines) }
    }

    mutating func violation(_ text: String) {
        note("VIOLATION \(text)")
        outcome.violations.append("at \(Int64((time * 1000).rounded())) ms: \(text)")
    }

    // MARK: - Running

    mutating func go() {
        for name in nodes.keys.sorted() {
            start(name)
            schedule(uniform(0.1, 0.5), .tick(name))
        }
        for number in 1...batchesToSubmit {
            schedule(uniform(0.5, 40), .submit(fleet.origins[Int(random.next() % UInt64(fleet.origins.count))], number: number))
        }
        if options.faults {
            for _ in 0..<Int(random.next() % 4) { schedule(uniform(1, Self.faultPhase), .partition) }
        }
        while let next = queue.popMin() {
            time = next.time
            if Self.keepsBusy(next.action) { inFlight -= 1 }
            if time > Self.limit { break }
            perform(next.action)
            if submitted == batchesToSubmit && quiet && originals().allSatisfy({ ended($0.id, at: $0.origin) }) { break }
        }
        finalChecks()
        outcome.trace = Array(lines.suffix(options.traceLines))
    }

    /// Nothing is left to do: every node is up and nothing it sent is in flight.
    var quiet: Bool { inFlight == 0 && nodes.values.allSatisfy { $0.core != nil } }

    static func keepsBusy(_ action: Action) -> Bool {
        switch action {
        case .deliver, .event, .restart, .heal, .control: true
        case .tick, .submit, .partition: false
        }
    }

    mutating func perform(_ action: Action) {
        switch action {
        case .deliver(let target, let sender, let bytes):
            guard let node = nodes[target], node.core != nil else { return }
            do {
                let envelope = try Envelope.open(bytes, keys: node.identity.keys, source: "from \(sender)")
                step(target, .envelope(OpenedEnvelope(envelope, keys: node.identity.keys), from: sender))
            } catch {
                note("\(target) refused bytes from \(sender): \(error)")
            }
        case .event(let name, let life, let event):
            guard nodes[name]?.life == life else { return }
            step(name, event)
        case .tick(let name):
            if chance(0.002), var node = nodes[name] {
                let jump = uniform(-20, 20)
                node.skew = max(-60, min(60, node.skew + jump))
                nodes[name] = node
                outcome.faults.clockJumps += 1
                note("\(name) clock jumps \(Int(jump)) s")
            }
            step(name, .tick)
            schedule(0.5, .tick(name))
        case .submit(let origin, let number):
            guard let node = nodes[origin], node.core != nil else {
                schedule(1, .submit(origin, number: number))
                return
            }
            submitted += 1
            let now = clock(origin)
            let id = BatchID(time: now, random: node.random)
            let input = BatchInput(name: "b\(number)", requests: [Request(name: SimulatedFleet.request)])
            nextToken += 1
            step(origin, .submit(SubmitOrder(id: id, input: input, options: SubmitOptions(timeout: uniform(3, 20))), nextToken))
            if random.next() % 8 == 0 {
                let action: BatchControl = random.next() % 2 == 0 ? .cancel : .pause
                schedule(uniform(0.5, 10), .control(origin, id, action))
                if action == .pause { schedule(uniform(11, 30), .control(origin, id, .resume)) }
            }
        case .control(let origin, let id, let action):
            nextToken += 1
            step(origin, .control(id, action, nextToken))
            // An operator whose resume did not get through (the origin was down, or the step
            // was lost) tries again until the batch runs or has ended.
            if action == .resume, nodes[origin]?.core?.batches[id]?.engine.paused ?? (nodes[origin]?.core == nil) {
                schedule(1, .control(origin, id, .resume))
            }
        case .restart(let name):
            start(name)
        case .partition:
            guard time < Self.faultPhase else { return }
            let name = nodes.keys.sorted()[Int(random.next() % UInt64(nodes.count))]
            let until = time + uniform(1, 20)
            nodes[name]?.isolatedUntil = until
            outcome.faults.partitions += 1
            note("\(name) cut off until \(Int(until)) s")
            schedule(until - time, .heal(name))
        case .heal(let name):
            note("\(name) reachable again")
            linksUp(name)
        }
    }

    /// Every batch an origin accepted: those whose original it saved.
    func originals() -> [(id: BatchID, origin: String)] {
        fleet.origins.flatMap { origin -> [(id: BatchID, origin: String)] in
            guard let node = nodes[origin] else { return [] }
            return node.disk.paths(in: node.identity.home.batches(.original), ending: ".yaml").compactMap { path in
                BatchID(validating: String(FileSystem.basename(of: path).dropLast(5))).map { ($0, origin) }
            }
        }
    }

    /// Whether batch `id` of `origin` has an executed file.
    func ended(_ id: BatchID, at origin: String) -> Bool {
        guard let node = nodes[origin] else { return false }
        return [BatchFolder.done, .error].contains { node.disk.bytes(node.identity.home.batchFile(id, in: $0)) != nil }
    }

    func clock(_ name: String) -> Timestamp { Self.epoch.adding(seconds: time + (nodes[name]?.skew ?? 0)) }

    func linkUp(_ a: String, _ b: String) -> Bool {
        guard let x = nodes[a], let y = nodes[b], x.core != nil, y.core != nil else { return false }
        return x.isolatedUntil <= time && y.isolatedUntil <= time
    }

    /// `name` (re)started or was healed: the links between it and its peers come up.
    mutating func linksUp(_ name: String) {
        guard let node = nodes[name] else { return }
        for peer in node.identity.configuration.node.peers.keys.sorted() where linkUp(name, peer) {
            guard case .address? = node.identity.configuration.node.peers[peer]?.route else { continue }
            schedule(0.001, .event(name, life: node.life, .reachable(peer)))
            if let other = nodes[peer] { schedule(0.001, .event(peer, life: other.life, .reachable(name))) }
        }
    }

    /// Starts (or restarts) `name` on what its disk holds.
    mutating func start(_ name: String) {
        guard var node = nodes[name] else { return }
        node.core = NodeCore(identity: node.identity, random: node.random, maxParallel: 4, now: clock(name))
        let loaded = node.disk.load(keys: node.identity.keys)
        nodes[name] = node
        note("\(name) starts (life \(node.life))")
        step(name, .start(loaded))
        linksUp(name)
    }

    /// `name` dies: what its disk had not synced is lost, and so is everything in its memory.
    mutating func crash(_ name: String) {
        guard var node = nodes[name] else { return }
        node.core = nil
        node.disk.crash()
        node.life += 1
        nodes[name] = node
        outcome.faults.crashes += 1
        note("\(name) crashes")
        schedule(uniform(1, 10), .restart(name))
    }

    // MARK: - One step

    /// The shell's step, as ``Node`` takes it: the core decides; the durable writes are made in
    /// order; a crash may strike between any two of them; a failed write stops the node, which
    /// starts again on what its disk holds.
    mutating func step(_ name: String, _ event: NodeEvent) {
        guard var node = nodes[name], var next = node.core else { return }
        let now = clock(name)
        let effects = next.handle(event, now: now)
        outcome.steps += 1
        note("\(name) \(event.summary)")
        let writes = effects.compactMap { effect -> DurableWrite? in
            if case .write(let write) = effect { return write }
            return nil
        }
        let struck = chance(0.002)
        let failing = !struck && !writes.isEmpty && chance(0.002)
        if struck || failing {
            let done = Int(random.next() % UInt64(writes.count + (struck ? 1 : 0)))
            for write in writes.prefix(done) { node.disk.apply(write) }
            nodes[name] = node
            if failing {
                // The real node stops on a write that failed (crash-only), and its supervisor
                // starts it again on what its disk holds.
                outcome.faults.writeFailures += 1
                note("\(name) cannot write (after \(done) of \(writes.count)); it stops")
            }
            crash(name)
            return
        }
        for write in writes { node.disk.apply(write) }
        check(name, effects, core: next, now: now)
        node.core = next
        nodes[name] = node
        for effect in effects { carryOut(effect, at: name) }
    }

    mutating func carryOut(_ effect: NodeEffect, at name: String) {
        guard let node = nodes[name] else { return }
        switch effect {
        case .transmit(let envelope, let peer, let transmission):
            guard linkUp(name, peer) else {
                schedule(0, .event(name, life: node.life, .undelivered(envelope, to: peer, transmission)))
                return
            }
            if case .poke = transmission { schedule(0, .event(name, life: node.life, .reachable(peer))) }
            switch network.send() {
            case .lost:
                outcome.faults.dropped += 1
                note("lost \(envelope.header.kind.rawValue) \(name) → \(peer)")
            case .arrives(let delays, let delayed):
                if delayed { outcome.faults.delayed += 1 }
                if delays.count > 1 { outcome.faults.duplicated += 1 }
                for delay in delays { schedule(delay, .deliver(to: peer, from: name, bytes: envelope.bytes)) }
            }
        case .loopback(let envelope):
            schedule(0, .deliver(to: name, from: name, bytes: envelope.bytes))
        case .connect(let peer):
            if linkUp(name, peer) { schedule(0.001, .event(name, life: node.life, .reachable(peer))) }
        case .run(let order):
            outcome.runs += 1
            let (result, after, spawnFailed) = network.run(order, on: name)
            if spawnFailed { outcome.faults.spawnFailures += 1 }
            schedule(after, .event(name, life: node.life, .ran(order.id, result)))
        case .reply(_, let reply):
            if case .failure(let error) = reply { note("\(name) answered: \(error)") }
        case .write, .learn, .notify, .log, .metric, .endFollowers:
            break
        }
    }
}
