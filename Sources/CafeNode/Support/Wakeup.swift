import Synchronization

/// Lets one task sleep until it is signalled or a timeout passes, whichever comes first: the
/// node's clock loop sleeps this way while the node is quiet, and the node signals it as soon as
/// it has work with deadlines again. A signal given while nobody sleeps is kept for the next
/// sleep, so none is lost between the loop's look at the node and its sleep.
final class Wakeup: Sendable {
    private struct State {
        var signalled = false
        var sleeper: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    init() {}

    /// Wakes the sleeper, or the next one to sleep.
    func signal() {
        let sleeper = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let sleeper = state.sleeper else {
                state.signalled = true
                return nil
            }
            state.sleeper = nil
            return sleeper
        }
        sleeper?.resume()
    }

    /// Returns once signalled (at once if a signal is kept) or after `timeout`; false when the
    /// calling task is cancelled. One sleeper at a time.
    func sleep(upTo timeout: Duration) async -> Bool {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.waitForSignal() }
            await group.next()
            group.cancelAll()
        }
        return !Task.isCancelled
    }

    private func waitForSignal() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { sleeper in
                let now = state.withLock { state -> Bool in
                    // Checked under the lock that the cancellation handler takes too: either it
                    // has run (and the task reads as cancelled here) or it finds the sleeper.
                    if state.signalled || Task.isCancelled {
                        state.signalled = false
                        return true
                    }
                    state.sleeper = sleeper
                    return false
                }
                if now { sleeper.resume() }
            }
        } onCancel: {
            state.withLock { state in
                defer { state.sleeper = nil }
                return state.sleeper
            }?.resume()
        }
    }
}
