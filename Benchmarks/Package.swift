// swift-tools-version:6.1
// Benchmarks, kept out of the main package so that they build in release mode on their own and
// never run in the test suite. See docs/benchmarks.md and scripts/bench.sh.
import PackageDescription

let package = Package(
    name: "CafeBenchmarks",
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "cafe-bench",
            dependencies: [
                .product(name: "CafeCore", package: "main"),
                .product(name: "CafeCrypto", package: "main"),
                .product(name: "CafeWire", package: "main"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
