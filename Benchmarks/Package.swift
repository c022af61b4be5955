// swift-tools-version:6.1
// Benchmarks, kept out of the main package so that they build in release mode on their own and
// never run in the test suite. See docs/benchmarks.md.
//   cafe-bench (Sources/cafe-bench)   hand-made benchmarks with same-run baselines: scripts/bench.sh
//   Benchmarks/CafeMicro              micro benchmarks on package-benchmark (p50/p99, mallocs,
//                                     syscalls; thresholds in Thresholds/): scripts/bench-micro.sh
import PackageDescription

let wire: [Target.Dependency] = [
    .product(name: "CafeCore", package: "CafeBatch"),
    .product(name: "CafeCrypto", package: "CafeBatch"),
    .product(name: "CafeWire", package: "CafeBatch"),
]
let cafe = wire + [.product(name: "CafeNode", package: "CafeBatch")]

let package = Package(
    name: "CafeBenchmarks",
    dependencies: [
        .package(name: "CafeBatch", path: ".."),
        // Only the malloc interposer (allocation counts): its default "RuntimeInterposer" trait
        // pulls in swift-runtime-interposer, which the ARC metrics need and these benchmarks don't.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // What cafe-bench and CafeMicro both measure.
        .target(name: "Samples", dependencies: wire, swiftSettings: [.swiftLanguageMode(.v6)]),
        .executableTarget(name: "cafe-bench", dependencies: cafe + ["Samples"], swiftSettings: [.swiftLanguageMode(.v6)]),
        // package-benchmark's layout: the plugin runs the executables under Benchmarks/.
        .executableTarget(
            name: "CafeMicro",
            dependencies: cafe + ["Samples", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/CafeMicro",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
