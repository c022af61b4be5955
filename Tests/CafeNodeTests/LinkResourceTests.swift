import CafeCore
import CafeTestSupport
import Logging
import NIOPosix
import Testing

@testable import CafeNode

/// What a node's links hold: a peer that stops reading cannot make it hold frames without
/// bound (once `maxQueuedBytes` wait for it, the link is dropped; the envelopes stay in the
/// outbox), and a connection that ended is not kept.
@Suite("link resources", .timeLimit(.minutes(5)))
struct LinkResourceTests {
    /// The test's hand-driven peer, used from one thread at a time (the test's, then its own).
    final class PeerBox: @unchecked Sendable {
        var peer: RawPeer?
    }

    /// Runs blocking `body` on a thread of its own, so that waiting on a socket holds none of
    /// the threads the network under test needs.
    static func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { done in BlockingThread.start { done.resume(returning: body()) } }
    }

    @Test("a peer that reads nothing is cut off once the bound waits for it, and later sends say undelivered")
    func bounded() async throws {
        let directory = TemporaryDirectory("cafe-slow-peer")
        defer { directory.cleanup() }
        let fleet = try SimulatedFleet(count: 3, random: SeededRandomSource(seed: 7), directory: directory.path)
        let host = try #require(fleet.hosts.first)
        let hostIdentity = try #require(fleet.identities[host])
        let current = CurrentIdentity(try #require(fleet.identities["o1"]))
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let (inbox, stream) = NodeInbox.make(identity: current, logger: logger)
        // The node's part: take every input (the link's "reachable") and say it was handled.
        let taking = Task { for await input in stream { input.done?() } }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var settings = TCPNetwork.Settings()
        settings.maxQueuedBytes = 1 << 20
        // This process's threads may be held for a long time by the suite's blocking tests:
        // the handshake deadline must not close the link meanwhile.
        settings.handshakeTimeout = .seconds(280)
        let network = TCPNetwork(identity: current, inbox: inbox, group: group, logger: logger, settings: settings)
        let listener = try await network.bind(on: HostPort(host: "127.0.0.1", port: 0))
        let port = try #require(listener.channel.localAddress?.port)
        let serving = Task { try await network.serve(listener) }
        // Whatever the checks find, the network, its tasks and its event loop are stopped.
        let outcome: Result<Void, any Error>
        do {
            try await Self.exercise(network, port: port, host: host, hostIdentity: hostIdentity, bound: settings.maxQueuedBytes)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        serving.cancel()
        _ = await serving.result
        await network.stop()
        inbox.finish()
        _ = await taking.value
        try await group.shutdownGracefully()
        try outcome.get()
    }

    static func exercise(_ network: TCPNetwork, port: Int, host: String, hostIdentity: NodeIdentity, bound: Int) async throws {
        let box = PeerBox()
        let linked = await Self.onThread {
            guard let peer = try? RawPeer(port: port) else { return false }
            box.peer = peer
            return peer.handshake(as: host, key: hostIdentity.key, with: "o1", keys: hostIdentity.keys, timeout: 280) == "o1"
        }
        try #require(linked, "the handshake as \(host)")
        // The link is registered once the node's side has finished its handshake.
        while !network.send([0], to: host) { try await Task.sleep(for: .milliseconds(20)) }

        // The peer reads nothing: the kernel's buffers fill, then the node's queue, up to the bound.
        let chunk = [UInt8](repeating: 7, count: 64 << 10)
        var accepted = chunk.count
        while network.send(chunk, to: host) {
            accepted += chunk.count
            try #require(accepted < 256 << 20, "no bound: \(accepted) bytes taken for a peer that reads nothing")
        }
        #expect(accepted >= bound, "the node gave up after \(accepted) bytes, before its bound")
        #expect(!network.send(chunk, to: host), "the link was dropped: nothing more is taken for it")
        let closed = await Self.onThread { box.peer?.closedByPeer(within: 60) ?? false }
        #expect(closed, "the node closed the connection")
    }

    @Test("dials that fail keep nothing of their connections")
    func failedDials() async throws {
        let directory = TemporaryDirectory("cafe-failed-dials")
        defer { directory.cleanup() }
        let fleet = try SimulatedFleet(count: 3, random: SeededRandomSource(seed: 7), directory: directory.path)
        let origin = try #require(fleet.identities["o1"])
        // Peers dialled at an address where nothing listens: each attempt is refused.
        let dialled = origin.configuration.node.peers.values.filter {
            if case .address = $0.route { return true } else { return false }
        }.map(\.name)
        try #require(!dialled.isEmpty)
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let current = CurrentIdentity(origin)
        let (inbox, _) = NodeInbox.make(identity: current, logger: logger)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let network = TCPNetwork(identity: current, inbox: inbox, group: group, logger: logger)
        for peer in dialled { network.connect(peer) }
        // Stopping waits for every dial to end.
        await network.stop()
        #expect(network.accepted.count == 0, "connections of ended dials still held")
        inbox.finish()
        try await group.shutdownGracefully()
    }
}
