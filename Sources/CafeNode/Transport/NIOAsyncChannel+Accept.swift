import NIOCore

extension NIOAsyncChannel where Outbound == Never {
    /// Hands every accepted connection to `handle`, each in a task of its own, until the
    /// listener closes or the calling task is cancelled (which closes the listener). The one
    /// accept loop of the peer, control and metrics listeners.
    func acceptEach<ConnectionIn: Sendable, ConnectionOut: Sendable>(
        _ handle: @escaping @Sendable (NIOAsyncChannel<ConnectionIn, ConnectionOut>) async -> Void
    ) async throws where Inbound == NIOAsyncChannel<ConnectionIn, ConnectionOut> {
        try await withTaskCancellationHandler {
            try await executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in connections {
                        group.addTask { await handle(connection) }
                    }
                }
            }
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}
