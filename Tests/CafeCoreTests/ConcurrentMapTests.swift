import CafeCore
import Testing

@Suite("concurrent map")
struct ConcurrentMapTests {
    @Test("results come back complete and in the elements' order, below and above the serial bound")
    func order() {
        for count in [0, 1, 15, 16, 17, 1_000] {
            let numbers = Array(0..<count)
            #expect(numbers.concurrentMap { "\($0 * 3)" } == numbers.map { "\($0 * 3)" }, "\(count) elements")
        }
    }
}
