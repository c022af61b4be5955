import Synchronization

/// How many envelopes from one link may wait for the node at once. The link reads its next frame
/// only while fewer wait (backpressure per link, so a fast peer cannot queue without bound), and
/// envelopes that arrive together are handled together, as one group of writes.
final class LinkWindow: Sendable {
    private struct State {
        var free: Int
        /// The link's reader, waiting for a place.
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state: Mutex<State>

    init(size: Int) {
        state = Mutex(State(free: size))
    }

    /// Takes a place for one envelope, waiting until one is free. One reader per window.
    func take() async {
        if takeFree(orRegister: nil) { return }
        await withCheckedContinuation { waiter in
            if takeFree(orRegister: waiter) { waiter.resume() }
        }
    }

    /// Takes a free place; else leaves `waiter` (if any) for ``give()`` to resume.
    private func takeFree(orRegister waiter: CheckedContinuation<Void, Never>?) -> Bool {
        state.withLock { state in
            guard state.free > 0 else {
                state.waiter = waiter
                return false
            }
            state.free -= 1
            return true
        }
    }

    /// Places free now, and whether the reader waits for one (for tests).
    var snapshot: (free: Int, readerWaits: Bool) {
        state.withLock { ($0.free, $0.waiter != nil) }
    }

    /// The node has handled an envelope: its place goes to the waiting reader, or is free again.
    func give() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.free += 1
            return nil
        }
        waiter?.resume()
    }
}
