import CafeCore
import CafeCrypto
import CafeTestSupport
import CafeWire
import Testing

@testable import CafeNode

/// The node core on its own: events in, effects out, no files, sockets or processes. What a
/// step must write before it acts, in what order, and what a repeat changes.
@Suite("node core")
final class NodeCoreTests {
    let directory = TemporaryDirectory("cafe-core")

    deinit { directory.cleanup() }
    let fleet: SimulatedFleet
    let now = Timestamp(iso8601: "2026-12-02T10:00:00.000Z")!

    init() throws {
        // Seed 7 draws an origin and hosts that allow it (no gateway, no relay needed here).
        fleet = try SimulatedFleet(count: 3, random: SeededRandomSource(seed: 7), directory: directory.path)
    }

    func core(_ name: String) -> NodeCore {
        var core = NodeCore(identity: fleet.identities[name]!, random: SeededRandomSource(seed: 1), maxParallel: 4, now: now)
        _ = core.handle(.start(LoadedDisk(outbox: Outbox(), spool: RequestSpool(), seen: [:])), now: now)
        return core
    }

    /// The position of the first effect `matching` in `effects`.
    func position(_ effects: [NodeEffect], _ matching: (NodeEffect) -> Bool) -> Int? { effects.firstIndex(where: matching) }

    /// Submits a batch at the origin and returns the request envelope it sends to `host`.
    func submit(to host: String, origin: inout NodeCore) throws -> Envelope {
        let input = BatchInput(name: "b", requests: [Request(name: SimulatedFleet.request)])
        let effects = origin.handle(.submit(SubmitOrder(id: BatchID(time: now, random: SeededRandomSource(seed: 2)), input: input, options: SubmitOptions(hosts: [host])), 1), now: now)
        let sent = effects.compactMap { effect -> Envelope? in
            if case .transmit(let envelope, host, _) = effect, envelope.header.kind == .request { return envelope }
            return nil
        }
        let stored = position(effects) { if case .write(.outboxAdd) = $0 { true } else { false } }
        let transmitted = position(effects) { if case .transmit = $0 { true } else { false } }
        #expect(stored != nil && transmitted != nil && stored! < transmitted!, "the request is in the outbox before it is sent")
        #expect(effects.contains { if case .reply(1, .submitted) = $0 { true } else { false } })
        return try #require(sent.first)
    }

    /// A batch for an allowing host, submitted at the origin and taken by the host: both cores,
    /// the request, the host's effects and the run it ordered.
    func delivered() throws -> (origin: NodeCore, host: NodeCore, request: Envelope, effects: [NodeEffect], run: RunOrder) {
        let name = try #require(fleet.hosts.first { !fleet.denying.contains($0) })
        var origin = core("o1"), host = core(name)
        let request = try submit(to: name, origin: &origin)
        let effects = host.handle(.envelope(OpenedEnvelope(envelope: request), from: "o1"), now: now)
        let run = try #require(effects.compactMap { effect -> RunOrder? in
            if case .run(let order) = effect { return order }
            return nil
        }.first, "the host runs the request: \(effects)")
        return (origin, host, request, effects, run)
    }

    @Test("a host stores a request before acknowledging it, and marks it running after an audited decision, before it runs")
    func hostOrder() throws {
        let effects = try delivered().effects
        let store = position(effects) { if case .write(.spool(_, .store)) = $0 { true } else { false } }
        let ack = position(effects) { if case .transmit(let envelope, _, .ack) = $0 { envelope.header.kind == .ack } else { false } }
        let audit = position(effects) { if case .write(.audit(let line)) = $0 { line.allowed } else { false } }
        let running = position(effects) { if case .write(.spool(_, .running)) = $0 { true } else { false } }
        let run = position(effects) { if case .run = $0 { true } else { false } }
        #expect(store != nil && ack != nil && store! < ack!, "\(effects)")
        #expect(audit != nil && running != nil && run != nil && audit! < run! && running! < run!, "\(effects)")
    }

    @Test("a request that comes again runs once: the copy is acknowledged as a duplicate and answered from the spool")
    func duplicate() throws {
        var (_, target, request, _, order) = try delivered()
        let finished = target.handle(.ran(order.id, HostResult(host: target.name, state: .ok)), now: now.adding(seconds: 1))
        #expect(finished.contains { if case .write(.spool(_, .result)) = $0 { true } else { false } })
        let again = target.handle(.envelope(OpenedEnvelope(envelope: request), from: "o1"), now: now.adding(seconds: 2))
        #expect(!again.contains { if case .run = $0 { true } else { false } })
        #expect(again.contains { effect in
            guard case .transmit(let envelope, _, .ack) = effect, case .ack(let body) = envelope.body else { return false }
            return body.status == .duplicate
        })
    }

    @Test("an origin's batch ends with its executed file written before its followers hear of it")
    func batchEnd() throws {
        var (origin, target, _, _, order) = try delivered()
        let finished = target.handle(.ran(order.id, HostResult(host: target.name, state: .ok)), now: now.adding(seconds: 1))
        let result = try #require(finished.compactMap { effect -> Envelope? in
            if case .transmit(let envelope, _, _) = effect, envelope.header.kind == .result { return envelope }
            return nil
        }.first)
        let end = origin.handle(.envelope(OpenedEnvelope(envelope: result), from: target.name), now: now.adding(seconds: 2))
        let file = position(end) { if case .write(.file(let path, _, _)) = $0 { path.contains("/batches/done/") } else { false } }
        let told = position(end) { if case .notify(_, .finished(.done, _)) = $0 { true } else { false } }
        #expect(file != nil && told != nil && file! < told!, "\(end)")
        #expect(origin.batches.isEmpty)
    }

    @Test("batches that end together cost the same each for 100 or 800 of them in the outbox")
    func linearBatchEnds() throws {
        let host = try #require(fleet.hosts.first { !fleet.denying.contains($0) })
        /// An origin with `count` one-host batches submitted, their requests in its outbox.
        func queued(_ count: Int) -> NodeCore {
            var origin = core("o1")
            for number in 0..<count {
                let input = BatchInput(name: "b\(number)", requests: [Request(name: SimulatedFleet.request)])
                let order = SubmitOrder(
                    id: BatchID(time: now, random: SeededRandomSource(seed: UInt64(number))), input: input, options: SubmitOptions(hosts: [host]))
                _ = origin.handle(.submit(order, 1), now: now)
            }
            return origin
        }
        /// A tick long after every batch expired: each ends, and its executed file is written.
        func endAll(_ origin: NodeCore, _ count: Int) {
            var origin = origin
            let effects = origin.handle(.tick, now: now.adding(seconds: 30 * 86_400))
            let files = effects.count { if case .write(.file(let path, _, _)) = $0 { path.contains("/batches/error/") } else { false } }
            #expect(files == count && origin.batches.isEmpty)
        }
        let small = queued(100), large = queued(800)
        let (ratio, smallTime, largeTime) = growthRatio({ endAll(small, 100) }, { endAll(large, 800) })
        #expect(ratio < 16, "100 batches took \(smallTime * 1000) ms, 800 took \(largeTime * 1000) ms (median ratio \(ratio)×)")
    }

    @Test("a core is quiet (its clock loop ticks once a second) while no batch, fan-out or plan has deadlines; an outbox alone keeps it quiet")
    func quiet() throws {
        #expect(core("o1").isQuiet)
        var (origin, host, _, _, order) = try delivered()
        #expect(!origin.isQuiet, "a running batch has deadlines")
        let finished = host.handle(.ran(order.id, HostResult(host: host.name, state: .ok)), now: now.adding(seconds: 1))
        #expect(
            host.isQuiet && !host.outbox.entries.isEmpty,
            "a result waiting in the outbox for its acknowledgement needs no 100 ms tick (retries are 5 s apart)")
        let result = try #require(finished.compactMap { effect -> Envelope? in
            if case .transmit(let envelope, _, _) = effect, envelope.header.kind == .result { return envelope }
            return nil
        }.first)
        _ = origin.handle(.envelope(OpenedEnvelope(envelope: result), from: host.name), now: now.adding(seconds: 2))
        #expect(origin.batches.isEmpty && origin.isQuiet, "the batch has ended")
    }

    @Test("the core's sources use nothing that does I/O: no files, sockets, processes, tasks, clocks or loggers")
    func pure() throws {
        let core = String(#filePath.split(separator: "/Tests/").first!) + "/Sources/CafeNode/Core"
        let forbidden = [
            "FileSystem", "Glibc", "import NIO", "import Foundation", "import Dispatch", "Task {", "Task.", "SystemClock", "SystemRandom",
            "Monotonic", "logger", "Logger(", "CommandRunner", "LocalExecutor", "ProcessSpawner", "AuditLog", "SeenLog", "BatchJournal",
            "NodeDisk", "PeerTransport", "CurrentIdentity", "await ",
        ]
        let files = try FileSystem.list(core).filter { $0.hasSuffix(".swift") }
        #expect(files.count >= 10)
        for file in files {
            let text = String(decoding: try FileSystem.read(core + "/" + file, maxBytes: 1 << 20), as: UTF8.self)
            for word in forbidden where text.contains(word) {
                Issue.record("\(file) uses \(word)")
            }
        }
    }
}
