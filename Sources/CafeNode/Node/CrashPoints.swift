import Glibc
import NIOConcurrencyHelpers

/// Where a crash test stops a node: `CAFE_NODE_CRASH_BEFORE_WRITE=N` in `cafe-node`'s
/// environment makes it `kill -9` itself just before its N-th write to disk (a log commit, a
/// journal append or flush, an audit or seen-set append, a file), counted from start. A test
/// that starts a node with N = 1, 2, 3, … and restarts it without the variable checks that a
/// crash between any two writes loses nothing and runs nothing twice
/// (`CrashPointTests`). Unset, it does nothing.
struct CrashPoints: Sendable {
    static let none = CrashPoints(before: nil)
    static let variable = "CAFE_NODE_CRASH_BEFORE_WRITE"

    private let remaining: NIOLockedValueBox<Int>?

    init(before write: Int?) {
        remaining = write.map { NIOLockedValueBox($0) }
    }

    /// From ``variable`` in the environment.
    static func fromEnvironment() -> CrashPoints {
        guard let value = getenv(variable), let count = Int(String(cString: value)), count > 0 else { return .none }
        return CrashPoints(before: count)
    }

    /// A write is about to happen.
    func reached() {
        guard let remaining else { return }
        let now = remaining.withLockedValue { value -> Int in
            value -= 1
            return value
        }
        if now == 0 { kill(getpid(), SIGKILL) }
    }
}
