import CafeCore
import Testing

/// The operating system's generator as ids use it: every length asked for, and bytes that vary.
@Suite("system random")
struct SystemRandomTests {
    @Test("bytes(n) gives n bytes for every n, across whole and partial eight-byte draws")
    func lengths() {
        for count in 0...33 { #expect(SystemRandom().bytes(count).count == count) }
        #expect(SystemRandom().hex(8).count == 16)
    }

    @Test("the bytes vary: every position of a draw, and across draws")
    func varies() {
        let draws = (0..<64).map { _ in SystemRandom().bytes(12) }
        #expect(Set(draws).count == 64)
        // A position stuck at one value (a byte left unfilled in a partial draw) would show here;
        // 64 random bytes repeat one value with a probability of 256^-63.
        for position in 0..<12 { #expect(Set(draws.map { $0[position] }).count > 1, "position \(position)") }
    }
}
