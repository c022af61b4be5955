import Synchronization

/// A clock that moves only when told to: simulations and tests set the time they need.
public final class ManualClock: WallClock {
    private let time: Mutex<Timestamp>

    public init(_ start: Timestamp) {
        time = Mutex(start)
    }

    public func now() -> Timestamp { time.withLock { $0 } }

    /// Sets the time (it may go backwards: a clock jump).
    public func set(_ timestamp: Timestamp) { time.withLock { $0 = timestamp } }

    /// Moves the time on by `seconds`.
    public func advance(seconds: Double) { time.withLock { $0 = $0.adding(seconds: seconds) } }
}
