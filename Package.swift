// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "CafeBatch",
    products: [
        .executable(name: "cafe", targets: ["cafe"]),
        .executable(name: "cafe-node", targets: ["cafe-node"]),
        .executable(name: "cafe-sim", targets: ["cafe-sim"]),
        .library(name: "CafeCore", targets: ["CafeCore"]),
        .library(name: "CafeCrypto", targets: ["CafeCrypto"]),
        .library(name: "CafeWire", targets: ["CafeWire"]),
        .library(name: "CafeNode", targets: ["CafeNode"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // libyaml's event API, from the system (the same libyaml 0.2.5 that Yams bundles as CYaml).
        // The daemon links it directly instead of through Yams, whose Swift half would load
        // Foundation into every node (about 8 MiB of an idle node's resident memory); Yams
        // itself stays, in the tests, as the independent reader the emitter is checked against.
        .systemLibrary(
            name: "CLibYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .target(
            name: "CafeCore",
            dependencies: ["CLibYAML"],
            swiftSettings: strict
        ),
        .target(
            name: "CafeCrypto",
            dependencies: ["CSodium", "CafeCore"],
            swiftSettings: strict
        ),
        .target(
            name: "CafeWire",
            dependencies: [
                "CafeCore", "CafeCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "CafeNode",
            dependencies: [
                "CafeCore", "CafeCrypto", "CafeWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "cafe",
            dependencies: [
                "CafeNode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "cafe-node",
            dependencies: [
                "CafeNode",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The deterministic simulation of a fleet of node cores (docs/simulation.md).
        .executableTarget(name: "cafe-sim", dependencies: ["CafeNode"], swiftSettings: strict),
        // Helpers shared by the test targets (temporary directories, seeded randomness).
        .target(name: "CafeTestSupport", dependencies: ["CafeCore"], path: "Tests/CafeTestSupport", swiftSettings: strict),
        .testTarget(
            name: "CafeCoreTests",
            dependencies: ["CafeCore", "CafeTestSupport", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict),
        .testTarget(name: "CafeCryptoTests", dependencies: ["CafeCrypto", "CafeTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "CafeWireTests",
            dependencies: [
                "CafeWire", "CafeTestSupport", .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "CafeNodeTests",
            dependencies: ["CafeNode", "CafeTestSupport", .product(name: "NIOEmbedded", package: "swift-nio")],
            swiftSettings: strict),
    ]
)
