import CafeCore
import CafeNode
import Glibc

/// Requests per second through one host from several origins: every request a batch of its
/// own, submitted over each origin's control socket by one thread per origin (no `cafe`
/// process per batch, so the client is not what is measured), timed from the first submission
/// until every origin has every executed batch file.
///
/// `cafe-bench throughput N HOME...`: N batches spread over the origins at the HOMEs; prints
/// the submission rate, the end-to-end rate and how many ended in error/.
/// `cafe-bench submit N HOME`: only submits N batches to one origin (for the queue memory).
enum ThroughputBenchmark {
    static let batch = Array("name: throughput\nrequests:\n  - name: ping\n".utf8)

    /// Submits `count` batches to the node at `home`; returns how many it accepted.
    static func submit(_ count: Int, home: NodeHome) -> Int {
        var accepted = 0
        for _ in 0..<count {
            guard let client = try? ControlClient(home: home) else { continue }
            do {
                try client.send(.submit(batch: batch, source: "throughput.yaml", follow: false, timeout: nil, hosts: nil))
                if case .accepted? = try client.next() { accepted += 1 }
            } catch {
                continue
            }
        }
        return accepted
    }

    /// Executed batch files of `home`: (done, error).
    static func finished(_ home: NodeHome) -> (done: Int, error: Int) {
        ((try? FileSystem.list(home.batches(.done)).count) ?? 0, (try? FileSystem.list(home.batches(.error)).count) ?? 0)
    }

    static func run(count: Int, homes: [NodeHome]) {
        let before = homes.map { finished($0) }
        let start = Monotonic.seconds()
        let accepted = UnsafeMutableBufferPointer<Int>.allocate(capacity: homes.count)
        defer { accepted.deallocate() }
        accepted.initialize(repeating: 0)
        let share = count / homes.count
        // One blocking thread per origin, as concurrent clients would be.
        let group = homes.indices.map { index -> pthread_t in
            let box = SubmitBox(count: share + (index < count % homes.count ? 1 : 0), home: homes[index], out: accepted.baseAddress! + index)
            var thread = pthread_t()
            pthread_create(&thread, nil, { raw in
                let box = Unmanaged<SubmitBox>.fromOpaque(raw!).takeRetainedValue()
                box.out.pointee = ThroughputBenchmark.submit(box.count, home: box.home)
                return nil
            }, Unmanaged.passRetained(box).toOpaque())
            return thread
        }
        for thread in group { pthread_join(thread, nil) }
        let submitted = Monotonic.seconds() - start
        let total = accepted.reduce(0, +)
        var done = 0, failed = 0
        while true {
            let now = homes.indices.map { index -> (Int, Int) in
                let (d, e) = finished(homes[index])
                return (d - before[index].done, e - before[index].error)
            }
            done = now.reduce(0) { $0 + $1.0 }
            failed = now.reduce(0) { $0 + $1.1 }
            if done + failed >= total || Monotonic.seconds() - start > 600 { break }
            usleep(20_000)
        }
        let elapsed = Monotonic.seconds() - start
        print("throughput: \(count) one-request batches from \(homes.count) origin(s) to one host (release build)")
        print("  accepted by the origins          \(total)")
        print("  submitted in                     \(fixed(submitted, 2, width: 8)) s  (\(fixed(Double(total) / submitted, 0)) batches/s)")
        print("  all executed files written after \(fixed(elapsed, 2, width: 8)) s  (\(fixed(Double(done + failed) / elapsed, 0)) requests/s end to end; issue 10 target >= 1000)")
        print("  ended in done/ / error/          \(done) / \(failed)")
    }
}

/// What one submitting thread needs.
final class SubmitBox: @unchecked Sendable {
    let count: Int
    let home: NodeHome
    let out: UnsafeMutablePointer<Int>

    init(count: Int, home: NodeHome, out: UnsafeMutablePointer<Int>) {
        self.count = count
        self.home = home
        self.out = out
    }
}
