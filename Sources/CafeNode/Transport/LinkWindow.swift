import Synchronization

/// How much from one link may wait for the node at once: at most ``envelopes`` envelopes and
/// ``bytes`` bytes of them (one envelope alone may be larger). The link reads its next frame only
/// when it fits (backpressure per link, so a peer cannot queue without bound), and envelopes
/// that arrive together are handled together, as one group of writes.
final class LinkWindow: Sendable {
    let envelopes: Int
    let bytes: Int

    private struct State {
        var waitingEnvelopes = 0
        var waitingBytes = 0
        /// The link's reader, waiting for room for an envelope of `size` bytes.
        var reader: (waiter: CheckedContinuation<Void, Never>, size: Int)?
    }

    private let state = Mutex(State())

    init(envelopes: Int, bytes: Int) {
        self.envelopes = envelopes
        self.bytes = bytes
    }

    /// Takes room for an envelope of `size` bytes, waiting until there is. One reader per window.
    func take(_ size: Int) async {
        if takeRoom(size, orRegister: nil) { return }
        await withCheckedContinuation { waiter in
            if takeRoom(size, orRegister: waiter) { waiter.resume() }
        }
    }

    /// Takes room when there is; else leaves `waiter` (if any) for ``give(_:)`` to resume.
    private func takeRoom(_ size: Int, orRegister waiter: CheckedContinuation<Void, Never>?) -> Bool {
        state.withLock { state in
            guard Self.fits(size, in: state, envelopes: envelopes, bytes: bytes) else {
                state.reader = waiter.map { ($0, size) }
                return false
            }
            state.waitingEnvelopes += 1
            state.waitingBytes += size
            return true
        }
    }

    private static func fits(_ size: Int, in state: State, envelopes: Int, bytes: Int) -> Bool {
        state.waitingEnvelopes == 0 || (state.waitingEnvelopes < envelopes && state.waitingBytes + size <= bytes)
    }

    /// The node has handled an envelope of `size` bytes: its room goes to the waiting reader when
    /// that now fits, or is free again.
    func give(_ size: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.waitingEnvelopes -= 1
            state.waitingBytes -= size
            guard let reader = state.reader, Self.fits(reader.size, in: state, envelopes: envelopes, bytes: bytes) else { return nil }
            state.reader = nil
            state.waitingEnvelopes += 1
            state.waitingBytes += reader.size
            return reader.waiter
        }
        waiter?.resume()
    }

    /// What waits now, and whether the reader waits for room (for tests).
    var snapshot: (envelopes: Int, bytes: Int, readerWaits: Bool) {
        state.withLock { ($0.waitingEnvelopes, $0.waitingBytes, $0.reader != nil) }
    }
}
