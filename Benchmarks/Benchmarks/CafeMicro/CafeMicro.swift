import Benchmark

// CafeBatch's micro benchmarks on package-benchmark: `scripts/bench-micro.sh run|check|update`
// (docs/benchmarks.md, "Micro benchmarks"). The p90 thresholds they are checked against are in
// Benchmarks/Thresholds/, the tolerances in Configuration+Cafe.swift.
let benchmarks: @Sendable () -> Void = {
    envelopeBenchmarks()
    runnerBenchmarks()
    journalBenchmarks()
}
