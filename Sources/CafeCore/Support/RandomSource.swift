/// Where randomness for identifiers comes from; injected so tests can be repeatable.
public protocol RandomSource: Sendable {
    func bytes(_ count: Int) -> [UInt8]
}

/// The operating system's cryptographically secure generator.
public struct SystemRandom: RandomSource {
    public init() {}

    public func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}

extension RandomSource {
    /// `count` random bytes as lower-case hex.
    public func hex(_ count: Int) -> String {
        Hex.encode(bytes(count))
    }
}
