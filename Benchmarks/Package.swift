// swift-tools-version:6.1
// Benchmarks, kept out of the main package so that they build in release mode on their own and
// never run in the test suite. See docs/benchmarks.md and scripts/bench.sh.
import PackageDescription

let package = Package(
    name: "CafeBenchmarks",
    dependencies: [.package(name: "CafeBatch", path: "..")],
    targets: [
        .executableTarget(
            name: "cafe-bench",
            dependencies: [
                .product(name: "CafeCore", package: "CafeBatch"),
                .product(name: "CafeCrypto", package: "CafeBatch"),
                .product(name: "CafeWire", package: "CafeBatch"),
                .product(name: "CafeNode", package: "CafeBatch"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
