import CafeCore
import CafeTestSupport
import CafeWire
import Testing

@testable import CafeNode

/// The summary table of `cafe batch run` and `cafe show`: hosts with identical results share a
/// row, whatever the number of hosts.
@Suite("the summary table")
struct BatchReportTableTests {
    /// A one-request report of `count` hosts; host `n` printed `output(n)`.
    static func report(_ count: Int, output: (Int) -> String) -> BatchReport {
        let created = Timestamp(iso8601: "2026-12-02T10:00:00.000Z")!
        var request = Request(name: "deploy")
        request.state = .ok
        request.records = (0..<count).map { number in
            let command = CommandResult(
                command: .shell("hostname"), termination: .exited(0), started: created, duration: 0.001,
                stdout: CapturedOutput(bytes: Array(output(number).utf8)))
            return HostRecord(host: "web\(number)", state: .ok, result: HostResult(host: "web\(number)", state: .ok, commands: [command]))
        }
        var batch = Batch(id: BatchID(validating: "20261202-100000-000-0123456789ab")!, name: "b", origin: "jlore", created: created, requests: [request])
        batch.state = .done
        // Unsigned records show the origin's copy of each result.
        return BatchReport(batch: batch, keys: KeyRing())
    }

    @Test("hosts with the same output share a row, folded")
    func sharedRows() {
        let table = Self.report(6) { $0 < 4 ? "same\n" : "other \($0)\n" }.table()
        #expect(table.contains("web[0-3]"), "\(table)")
        #expect(table.contains("other 4") && table.contains("other 5"))
    }

    @Test("2,000 hosts that all answered differently cost at most 16 times 250")
    func linear() {
        let small = Self.report(250) { "host \($0)\n" }, large = Self.report(2_000) { "host \($0)\n" }
        let (ratio, smallTime, largeTime) = growthRatio({ _ = small.table() }, { _ = large.table() })
        #expect(ratio < 16, "250 hosts took \(smallTime * 1000) ms, 2,000 took \(largeTime * 1000) ms (median ratio \(ratio)×)")
    }
}
