import CafeCore
import Glibc

/// A fresh directory under /tmp, removed by `cleanup()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(_ label: String = "cafe-test") {
        do {
            path = try FileSystem.makeTemporaryDirectory(label)
        } catch {
            preconditionFailure("\(error)")
        }
    }

    public func cleanup() {
        _ = try? FileSystem.removeTree(path)
    }

    /// Writes `text` to `name` under the directory, creating folders as needed.
    public func write(_ name: String, _ text: String) throws {
        try FileSystem.makeDirectory(FileSystem.parent(of: path + "/" + name))
        try FileSystem.writeAtomically(Array(text.utf8), to: path + "/" + name)
    }
}

/// A deterministic generator (SplitMix64), so property tests are repeatable.
public struct SeededRandom: RandomNumberGenerator {
    public var state: UInt64

    public init(state: UInt64) {
        self.state = state
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random strings made to stress a YAML writer: quotes, colons, hashes, leading and trailing
/// spaces, tabs, line breaks, control characters, YAML keywords, numbers and non-ASCII text.
public enum NastyStrings {
    static let pieces: [String] = [
        "a", "Z", "0", "42", "-1", "3.14", "1e5", "0x1F", "true", "no", "null", "~", "yes", "On", ".inf",
        ":", ": ", "#", " #", "'", "\"", "\\", "{", "}", "[", "]", ",", "&a", "*a", "!tag", "|", ">", "%", "@", "`",
        " ", "  ", "\t", "\n", "\n\n", "\r", "\r\n", "\u{0}", "\u{1}", "\u{7}", "\u{1B}", "\u{7F}", "\u{85}",
        "\u{A0}", "\u{2028}", "\u{2029}", "\u{FEFF}", "é", "日本", "🙂", "---", "...", "- ", "? ", "key: value",
        "2026-11-29", "12:30", "=", "<<",
    ]

    public static func make(_ random: inout SeededRandom) -> String {
        let count = Int.random(in: 0...8, using: &random)
        return (0..<count).map { _ in pieces.randomElement(using: &random)! }.joined()
    }
}

/// How much longer `large` takes than `small`, for checking that work grows linearly with its
/// input: the median over seven pairs of (seconds for `large`) / (seconds for `small`), each
/// pair timed back to back (the suite runs tests in parallel, and other work on the machine
/// slows both of a pair alike), and the fastest time of each. On 8 times the input a linear
/// step costs about 8 times; a quadratic one 64.
public func growthRatio(_ small: () throws -> Void, _ large: () throws -> Void) rethrows -> (ratio: Double, small: Double, large: Double) {
    func time(_ body: () throws -> Void) rethrows -> Double {
        let start = Monotonic.seconds()
        try body()
        return Monotonic.seconds() - start
    }
    var ratios: [Double] = [], fastestSmall = Double.infinity, fastestLarge = Double.infinity
    for _ in 0..<7 {
        let smallTime = try time(small), largeTime = try time(large)
        ratios.append(largeTime / max(smallTime, 1e-6))
        fastestSmall = min(fastestSmall, smallTime)
        fastestLarge = min(fastestLarge, largeTime)
    }
    return (ratios.sorted()[3], fastestSmall, fastestLarge)
}
