import Dispatch

extension Array where Element: Sendable {
    /// `map(transform)` spread over the machine's cores, the results in the elements' order.
    /// For CPU-bound work that is independent per element, such as the signature checks of a
    /// large executed batch file; `transform` runs on several threads at once, so it must not
    /// share mutable state. Below `serialBelow` elements it simply maps: waking threads would
    /// cost more than it saves.
    public func concurrentMap<T: Sendable>(serialBelow: Int = 16, _ transform: @Sendable (Element) -> T) -> [T] {
        guard count >= Swift.max(serialBelow, 2) else { return map(transform) }
        return [T](unsafeUninitializedCapacity: count) { results, initialized in
            // Each index is written by exactly one iteration, and read only after all have ended.
            nonisolated(unsafe) let base = results.baseAddress!
            DispatchQueue.concurrentPerform(iterations: count) { index in
                (base + index).initialize(to: transform(self[index]))
            }
            initialized = count
        }
    }
}
