import Synchronization
import Testing

@testable import CafeNode

@Suite("link window")
struct LinkWindowTests {
    /// Starts a reader that takes room for `size` bytes, and returns once it has either found
    /// none and waits (true), or, wrongly, taken it (false). Not a sleep: it ends on either.
    func reader(_ window: LinkWindow, _ size: Int) async -> (task: Task<Void, Never>, waits: Bool) {
        let taken = Mutex(false)
        let task = Task {
            await window.take(size)
            taken.withLock { $0 = true }
        }
        while !window.snapshot.readerWaits && !taken.withLock({ $0 }) { await Task.yield() }
        return (task, !taken.withLock { $0 })
    }

    @Test("a link reads on while fewer envelopes than its window wait for the node, then waits until one has been handled")
    func envelopes() async {
        let window = LinkWindow(envelopes: 2, bytes: 1000)
        await window.take(10)
        await window.take(10)
        let third = await reader(window, 10)
        #expect(third.waits, "the reader took room while two envelopes waited")
        window.give(10)
        await third.task.value
        #expect(window.snapshot == (2, 20, false), "the freed room went to the waiting reader")
        window.give(10)
        window.give(10)
        #expect(window.snapshot == (0, 0, false))
    }

    @Test("what waits is bounded in bytes too, but one envelope alone may be larger")
    func bytes() async {
        let window = LinkWindow(envelopes: 32, bytes: 100)
        await window.take(150)  // alone: larger than the window, still taken
        let second = await reader(window, 10)
        #expect(second.waits, "the reader took room while 150 of 100 bytes waited")
        window.give(150)
        await second.task.value
        await window.take(80)
        let third = await reader(window, 20)
        #expect(third.waits, "90 + 20 bytes do not fit in 100")
        window.give(10)
        await third.task.value
        #expect(window.snapshot == (2, 100, false))
    }
}
