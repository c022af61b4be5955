import CafeCore

/// The simulation's network and process spawner: what becomes of an envelope sent on a link
/// (it arrives after a delay, late enough to overtake others, twice, or not at all) and of a
/// run (the answer a fake spawner gives, and when), all drawn from the simulation's generator,
/// so that one seed always gives the same fates.
struct InMemoryNetwork {
    let random: SeededRandomSource
    /// Whether faults are drawn at all (without, no generator draw is spent on them).
    let faults: Bool

    /// What becomes of one envelope sent on a live link.
    enum Fate: Equatable {
        case lost
        /// It arrives after each of these delays (two: duplicated), `delayed` when one is long.
        case arrives(after: [Double], delayed: Bool)
    }

    func chance(_ p: Double) -> Bool { faults && Double(random.next() % 1_000_000) < p * 1_000_000 }
    func uniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * Double(random.next() % 1_000_000) / 1_000_000 }

    /// The fate of the next envelope: 2% lost; 1–50 ms, and 5% of the time 0.5–5 s more; 2%
    /// arrive a second time up to 3 s later.
    func send() -> Fate {
        if chance(0.02) { return .lost }
        var delay = uniform(0.001, 0.05)
        let delayed = chance(0.05)
        if delayed { delay += uniform(0.5, 5) }
        return .arrives(after: chance(0.02) ? [delay, delay + uniform(0, 3)] : [delay], delayed: delayed)
    }

    /// The fake spawner's answer to `order` on `host`, and how long it took: 1% fail to
    /// start, one in ten exit 1, the rest succeed, after 10 ms to 3 s.
    func run(_ order: RunOrder, on host: String) -> (result: HostResult, after: Double, spawnFailed: Bool) {
        if chance(0.01) {
            return (HostResult(host: host, state: .failed, message: "cannot start the command: simulated spawn failure"), uniform(0.01, 3), true)
        }
        let failed = random.next() % 10 == 0
        var result = HostResult(host: host, state: failed ? .failed : .ok, message: failed ? "exit status 1" : nil)
        if !order.request.isAdhoc { result.commandDigest = order.commandMap.entry(for: order.request.name)?.digest }
        return (result, uniform(0.01, 3), false)
    }
}
