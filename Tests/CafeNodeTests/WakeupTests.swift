import Testing

@testable import CafeNode

/// The sleep of a quiet node's clock loop: it ends on a signal (one given before it too) or at
/// its timeout, and on cancellation. The sleeps that must be ended by something else are an hour
/// long, and the time limit fails a test whose sleep was not ended: no test depends on how fast
/// the machine is (the suite's blocking tests can hold the concurrency threads for tens of
/// seconds).
@Suite("wakeup", .timeLimit(.minutes(5)))
struct WakeupTests {
    @Test("a signal given before the sleep ends it; it is used up by that sleep")
    func keptSignal() async {
        let wakeup = Wakeup()
        wakeup.signal()
        #expect(await wakeup.sleep(upTo: .seconds(3600)))
        let clock = ContinuousClock()
        let start = clock.now
        #expect(await wakeup.sleep(upTo: .milliseconds(50)))
        #expect(start.duration(to: clock.now) >= .milliseconds(50), "the signal was used by the first sleep")
    }

    @Test("a signal ends a sleep under way")
    func wakes() async {
        let wakeup = Wakeup()
        async let slept = wakeup.sleep(upTo: .seconds(3600))
        wakeup.signal()
        #expect(await slept)
    }

    @Test("a cancelled sleep ends and says so")
    func cancelled() async {
        let wakeup = Wakeup()
        let sleeper = Task { await wakeup.sleep(upTo: .seconds(3600)) }
        sleeper.cancel()
        #expect(await sleeper.value == false)
    }
}
