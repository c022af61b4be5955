/// The host role's run queue, a pure value: requests wait in the order they were stored and
/// start while fewer than `maxParallel` run; nothing starts once the node is stopping. Each
/// operation is O(1) amortized, whatever the number waiting (10,000 queued requests cost no
/// more per step than ten).
struct HostQueue<Key: Hashable & Sendable>: Sendable {
    let maxParallel: Int
    private var waiting: [Key] = []
    private var head = 0
    /// How many started and have not finished.
    private(set) var running = 0
    /// True once the node stops taking work: nothing more starts.
    private(set) var stopping = false

    init(maxParallel: Int) {
        precondition(maxParallel > 0, "at least one request must be able to run")
        self.maxParallel = maxParallel
    }

    /// How many wait for a slot.
    var waitingCount: Int { waiting.count - head }

    /// `key` waits for a slot; returns the keys that start now.
    mutating func enqueue(_ key: Key) -> [Key] {
        waiting.append(key)
        return startable()
    }

    /// One started request ended; returns the keys that start now.
    mutating func finished() -> [Key] {
        precondition(running > 0, "a request finished that never started")
        running -= 1
        return startable()
    }

    /// No more starts from now on.
    mutating func stop() { stopping = true }

    private mutating func startable() -> [Key] {
        var started: [Key] = []
        while running < maxParallel, !stopping, head < waiting.count {
            started.append(waiting[head])
            head += 1
            running += 1
        }
        // Drop the consumed front once it outweighs what waits, so memory stays linear.
        if head > 64 && head * 2 > waiting.count {
            waiting.removeFirst(head)
            head = 0
        }
        return started
    }
}
