// swift-tools-version:6.1
// The libFuzzer target for envelope decode+verify. Built apart from the main package because
// every module in it must be compiled with -sanitize=fuzzer; see docs/fuzzing.md and
// scripts/fuzz.sh.
import PackageDescription

let package = Package(
    name: "CafeFuzz",
    dependencies: [.package(name: "CafeBatch", path: "..")],
    targets: [
        .executableTarget(
            name: "EnvelopeFuzzer",
            dependencies: [
                .product(name: "CafeWire", package: "CafeBatch"),
                .product(name: "CafeCrypto", package: "CafeBatch"),
                .product(name: "CafeCore", package: "CafeBatch"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6), .unsafeFlags(["-parse-as-library"])]
        )
    ]
)
