import CafeCore
import Testing

@testable import CafeNode

/// `cafe rerun --failed` planning, as a pure function of the original and the executed file.
@Suite("rerun planning")
struct RerunPlannerTests {
    let now = Timestamp(iso8601: "2026-12-02T10:00:00.000Z")!

    /// Signed results by their text; a text not listed does not verify.
    func planner(_ signed: [String: HostResult], groups: [String: [HostGroup]] = [:]) -> RerunPlanner {
        RerunPlanner(groups: { groups[$0] }, verify: { signed[$0] })
    }

    func command(exit status: Int32) -> CommandResult {
        CommandResult(command: .shell("true"), termination: .exited(status), started: now, duration: 0.01)
    }

    func executed(_ requests: [(String, RequestState, [HostRecord], [HostGroup]?)]) -> Batch {
        var batch = Batch(id: BatchID(validating: "20261202-100000-000-9f2c1a7be301")!, name: "b", origin: "jlore", created: now, requests: [])
        batch.requests = requests.map { name, state, records, groups in
            var request = Request(name: name)
            request.state = state
            request.records = records
            request.groups = groups
            return request
        }
        return batch
    }

    @Test("only requests that did not succeed, on the hosts that did not, in the groups they ran in")
    func failedHosts() throws {
        let original = [Request(name: "first"), Request(name: "second")]
        let batch = executed([
            ("first", .ok, [HostRecord(host: "a", state: .ok)], [["a"]]),
            ("second", .failed, [HostRecord(host: "a", state: .ok), HostRecord(host: "b", state: .failed), HostRecord(host: "c", state: .skipped)], [["a", "b"], ["c"]]),
        ])
        let rerun = try planner([:]).failed(original, executed: batch, source: "x.yaml")
        #expect(rerun.map(\.name) == ["second"])
        #expect(rerun[0].groups == [["b"], ["c"]] && rerun[0].only == nil)
        #expect(RerunPlanner.plan(rerun) == "rerun plan: second on b, then c\n")
        // Without groups in the original or the file, the delivery map decides the order.
        let unplanned = executed([("first", .ok, [], nil), ("second", .failed, [HostRecord(host: "c", state: .noAnswer), HostRecord(host: "b", state: .failed)], nil)])
        #expect(try planner([:], groups: ["second": [["b"], ["c"]]]).failed(original, executed: unplanned, source: "x.yaml")[0].groups == [["b"], ["c"]])
    }

    @Test("below a forwarding host: failed leaves by path, `.` when its own part failed, the whole request when nothing verifies")
    func belowGateways() throws {
        let leaves = [HostRecord(host: "l1", state: .ok, signedResult: "sig-l1"), HostRecord(host: "l2", state: .failed, signedResult: "sig-l2")]
        let cases: [(HostResult, [String]?)] = [
            (HostResult(host: "gw", state: .failed, message: "below gw: l2 failed", commands: [command(exit: 0)], leaves: leaves), ["l2"]),
            (HostResult(host: "gw", state: .failed, commands: [command(exit: 3)], leaves: [leaves[0]]), ["."]),
            (HostResult(host: "gw", state: .failed, message: "interrupted: cafe-node on gw stopped while this request ran; …; below gw: l2 failed", leaves: leaves), [".", "l2"]),
            (HostResult(host: "gw", state: .denied, message: "denied by gw: …", leaves: [leaves[0]]), ["."]),
            (HostResult(host: "gw", state: .failed, message: "gw could not start the fan-out: disk full"), nil),
        ]
        for (result, expected) in cases {
            let record = HostRecord(host: "gw", state: result.state, signedResult: "sig-gw")
            #expect(planner(["sig-gw": result]).failedPaths(record) == expected, "\(result.message ?? "")")
        }
        // Two levels: gw → gw2 → b5.
        let deep = HostResult(
            host: "gw2", state: .failed, message: "below gw2: b5 failed",
            leaves: [HostRecord(host: "b4", state: .ok), HostRecord(host: "b5", state: .failed)])
        let top = HostResult(host: "gw", state: .failed, message: "below gw: gw2 failed", leaves: [HostRecord(host: "gw2", state: .failed, signedResult: "sig-gw2")])
        #expect(planner(["sig-gw": top, "sig-gw2": deep]).failedPaths(HostRecord(host: "gw", state: .failed, signedResult: "sig-gw")) == ["gw2/b5"])
        // A result that does not verify: everything runs again there.
        #expect(planner([:]).failedPaths(HostRecord(host: "gw", state: .failed, signedResult: "forged")) == nil)
        // In a plan.
        let batch = executed([("deploy", .failed, [HostRecord(host: "gw", state: .failed, signedResult: "sig-gw")], [["gw"]])])
        let rerun = try planner(["sig-gw": cases[2].0]).failed([Request(name: "deploy")], executed: batch, source: "x.yaml")
        #expect(rerun[0].only == ["gw": [".", "l2"]])
        #expect(RerunPlanner.plan(rerun) == "rerun plan: deploy on gw (only ., l2)\n")
    }

    @Test("an executed file of another batch, or one where everything succeeded, is refused")
    func refusals() {
        let planner = planner([:])
        #expect(throws: InputError.self) {
            try planner.failed([Request(name: "first")], executed: executed([("other", .failed, [], nil)]), source: "x.yaml")
        }
        #expect(throws: InputError.self) {
            try planner.failed([Request(name: "first")], executed: executed([("first", .ok, [], nil)]), source: "x.yaml")
        }
    }
}
