import NIOConcurrencyHelpers
import NIOCore

/// The connections a listener has accepted and not yet handed to its loop, held here from the
/// moment they are wrapped. NIO's async server channels drop a connection accepted while the
/// listener closes; its writer then traps when released (`Deinited NIOAsyncWriter without
/// calling finish()`, swift-nio #2637 and #3481), which ended cafe-node with SIGILL when it
/// was stopped while connections came in. Held here, none is released unfinished: the loop
/// takes each it receives, and closes (finishes) whatever is left once the listener is closed.
final class AcceptedConnections<Inbound: Sendable, Outbound: Sendable>: Sendable {
    private let held = NIOLockedValueBox<[ObjectIdentifier: NIOAsyncChannel<Inbound, Outbound>]>([:])

    /// Wraps a just-accepted `channel` (in its initializer, on its event loop) and holds it.
    func wrap(_ channel: any Channel) throws -> NIOAsyncChannel<Inbound, Outbound> {
        let connection = try NIOAsyncChannel<Inbound, Outbound>(wrappingChannelSynchronously: channel)
        held.withLockedValue { $0[ObjectIdentifier(channel)] = connection }
        return connection
    }

    func take(_ connection: NIOAsyncChannel<Inbound, Outbound>) {
        _ = held.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(connection.channel)) }
    }

    /// How many are held now.
    var count: Int { held.withLockedValue { $0.count } }

    func drain() -> [NIOAsyncChannel<Inbound, Outbound>] {
        held.withLockedValue { held in
            defer { held = [:] }
            return Array(held.values)
        }
    }
}

extension NIOAsyncChannel where Outbound == Never {
    /// Hands every accepted connection to `handle`, each in a task of its own, until the
    /// listener closes or the calling task is cancelled (which closes the listener); then
    /// closes the connections it accepted but never handed over. The one accept loop of the
    /// peer, control and metrics listeners.
    func acceptEach<ConnectionIn: Sendable, ConnectionOut: Sendable>(
        _ accepted: AcceptedConnections<ConnectionIn, ConnectionOut>,
        _ handle: @escaping @Sendable (NIOAsyncChannel<ConnectionIn, ConnectionOut>) async -> Void
    ) async throws where Inbound == NIOAsyncChannel<ConnectionIn, ConnectionOut> {
        defer {
            let leftover = accepted.drain()
            if !leftover.isEmpty {
                Task { for connection in leftover { try? await connection.executeThenClose { _, _ in } } }
            }
        }
        try await withTaskCancellationHandler {
            try await executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in connections {
                        accepted.take(connection)
                        group.addTask { await handle(connection) }
                    }
                }
            }
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}
