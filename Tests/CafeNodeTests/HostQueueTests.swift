import Testing

@testable import CafeNode

/// The host's run queue on its own: order, the parallel limit, stopping, and cost.
@Suite("host run queue")
struct HostQueueTests {
    @Test("requests start in the order they came, at most max-parallel at once, and the next starts when one ends")
    func orderAndLimit() {
        var queue = HostQueue<Int>(maxParallel: 2)
        #expect(queue.enqueue(1) == [1])
        #expect(queue.enqueue(2) == [2])
        #expect(queue.enqueue(3) == [])
        #expect(queue.enqueue(4) == [])
        #expect(queue.running == 2 && queue.waitingCount == 2)
        #expect(queue.finished() == [3])
        #expect(queue.finished() == [4])
        #expect(queue.finished() == [] && queue.finished() == [] && queue.running == 0)
    }

    @Test("once stopping, nothing more starts; what runs may still finish")
    func stopping() {
        var queue = HostQueue<Int>(maxParallel: 1)
        #expect(queue.enqueue(1) == [1])
        #expect(queue.enqueue(2) == [])
        queue.stop()
        #expect(queue.finished() == [])
        #expect(queue.enqueue(3) == [])
        #expect(queue.running == 0 && queue.waitingCount == 2)
    }

    @Test("100,000 requests through one slot come out in order, each once")
    func manyInOrder() {
        var queue = HostQueue<Int>(maxParallel: 1)
        var started: [Int] = []
        for key in 0..<100_000 { started += queue.enqueue(key) }
        while queue.running > 0 { started += queue.finished() }
        #expect(started == Array(0..<100_000))
        #expect(queue.waitingCount == 0)
    }
}
