import CafeCore

/// When to try connecting to a peer again: exponential backoff with jitter, as pure logic.
/// After `failures` failed attempts in a row, the next attempt waits
/// `min(maxDelay, baseDelay × 2^(failures−1))`, scaled by a random factor in [0.5, 1].
public struct Backoff: Sendable, Hashable {
    public var baseDelay: Double
    public var maxDelay: Double
    public private(set) var failures = 0
    /// No attempt before this instant.
    public private(set) var notBefore: Timestamp?

    public init(baseDelay: Double = 0.2, maxDelay: Double = 30) {
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    public func mayAttempt(now: Timestamp) -> Bool {
        notBefore.map { now >= $0 } ?? true
    }

    /// Records a failed attempt at `now`; returns the delay chosen before the next one.
    @discardableResult
    public mutating func failed(now: Timestamp, random: any RandomSource) -> Double {
        failures += 1
        var delay = baseDelay
        for _ in 1..<failures where delay < maxDelay { delay *= 2 }
        delay = min(delay, maxDelay)
        let jitter = 0.5 + 0.5 * Double(random.bytes(1)[0]) / 255
        let chosen = delay * jitter
        notBefore = now.adding(seconds: chosen)
        return chosen
    }

    /// A connection succeeded: the next failure starts from the base delay again.
    public mutating func succeeded() {
        failures = 0
        notBefore = nil
    }
}
