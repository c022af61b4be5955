import Benchmark

extension Benchmark.Configuration {
    /// What every micro benchmark reports, in microseconds: wall clock (the table shows p50 to
    /// p99), allocations (malloc calls, counted by the malloc interposer) and the read and write
    /// system calls of the process (on Linux the harness counts only these two kinds; its total
    /// `syscalls` is macOS only). Each runs for at most 2 s or 10,000 iterations.
    ///
    /// `thresholds check` compares each metric's p90 with the checked-in one: the wall clock may
    /// be `time` percent worse, each count `counts` higher.
    static func cafe(time: Double, counts: Int) -> Self {
        let exact = BenchmarkThresholds(absolute: [.p90: counts])
        return .init(
            metrics: [.wallClock, .mallocCountTotal, .readSyscalls, .writeSyscalls],
            timeUnits: .microseconds,
            maxDuration: .seconds(2),
            thresholds: [
                .wallClock: BenchmarkThresholds(relative: [.p90: time]),
                .mallocCountTotal: exact, .readSyscalls: exact, .writeSyscalls: exact,
            ])
    }
}
