import Synchronization
import Testing

@testable import CafeNode

@Suite("link window")
struct LinkWindowTests {
    @Test("a link reads on while fewer envelopes than its window wait for the node, then waits until one has been handled")
    func backpressure() async {
        let window = LinkWindow(size: 2)
        await window.take()
        await window.take()
        #expect(window.snapshot.free == 0)
        let taken = Mutex(false)
        let reader = Task {
            await window.take()
            taken.withLock { $0 = true }
        }
        // Not a sleep: the loop ends once the reader has asked and found no place (or, wrongly,
        // has taken one).
        while !window.snapshot.readerWaits && !taken.withLock({ $0 }) { await Task.yield() }
        #expect(!taken.withLock { $0 }, "the reader took a place while none was free")
        window.give()
        await reader.value
        #expect(window.snapshot.free == 0 && !window.snapshot.readerWaits, "the freed place went to the waiting reader")
        window.give()
        window.give()
        #expect(window.snapshot.free == 2)
    }
}
