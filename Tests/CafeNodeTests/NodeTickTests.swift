import CafeCore
import CafeTestSupport
import Logging
import Testing

@testable import CafeNode

/// The node's shell and its clock loop: a quiet node says so from `tick()`, and the step that
/// gives it deadlines wakes the loop's one-second sleep (``Node/busy``).
@Suite("node tick", .timeLimit(.minutes(5)))
struct NodeTickTests {
    /// A transport with no links: every send is undelivered, which leaves the request in the outbox.
    struct NoLinks: PeerTransport {
        func send(_ bytes: [UInt8], to peer: String) -> Bool { false }
    }

    @Test("a submitted batch ends the quiet: tick() says busy, and the clock loop's sleep is woken")
    func submitWakes() async throws {
        let directory = TemporaryDirectory("cafe-tick")
        defer { directory.cleanup() }
        // Seed 7 draws an origin and hosts that allow it (as in NodeCoreTests).
        let fleet = try SimulatedFleet(count: 3, random: SeededRandomSource(seed: 7), directory: directory.path)
        let host = try #require(fleet.hosts.first { !fleet.denying.contains($0) })
        let current = CurrentIdentity(try #require(fleet.identities["o1"]))
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let (inbox, stream) = NodeInbox.make(identity: current, logger: logger)
        defer { inbox.finish() }
        let node = try Node(current: current, transport: NoLinks(), inbound: stream, logger: logger)
        try await node.start()
        #expect(await node.tick(), "a node with nothing to do is quiet")

        // No signal is kept while nothing changed: a short sleep runs to its end.
        let clock = ContinuousClock()
        let start = clock.now
        #expect(await node.busy.sleep(upTo: .milliseconds(50)))
        #expect(start.duration(to: clock.now) >= .milliseconds(50))

        _ = try await node.submit(BatchInput(name: "b", requests: [Request(name: SimulatedFleet.request)]), options: SubmitOptions(hosts: [host]))
        // An hour-long sleep that only the signal of the submission's step can end (time limit).
        #expect(await node.busy.sleep(upTo: .seconds(3600)))
        #expect(await node.tick() == false, "a running batch has deadlines")
    }
}
