/// Where randomness for identifiers comes from; injected so tests can be repeatable.
public protocol RandomSource: Sendable {
    func bytes(_ count: Int) -> [UInt8]
}

/// The operating system's cryptographically secure generator.
public struct SystemRandom: RandomSource {
    public init() {}

    /// Eight bytes per draw from the generator (one `getrandom` call each), not one: an
    /// envelope id takes one system call instead of eight.
    public func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var result: [UInt8] = []
        result.reserveCapacity(count)
        while result.count < count {
            let word = generator.next()
            withUnsafeBytes(of: word) { result.append(contentsOf: $0.prefix(count - result.count)) }
        }
        return result
    }
}

extension RandomSource {
    /// `count` random bytes as lower-case hex.
    public func hex(_ count: Int) -> String {
        Hex.encode(bytes(count))
    }
}
