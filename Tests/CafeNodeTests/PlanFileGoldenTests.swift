import CafeCore
import Testing

@testable import CafeNode

/// The batch plan (`batches/queue/ID.yaml`) and a collected plan (`batches/plans/HASH.yaml`)
/// keep their exact text: a collected plan is named by the hash of what it holds, and a
/// restarted node reads plans written by older versions.
@Suite("plan files: golden text")
struct PlanFileGoldenTests {
    static let created = Timestamp(milliseconds: 1_795_966_212_345)
    static let id = BatchID(validating: "20261129-153012-301-9f2c1a7be301")!

    static var batchPlan: BatchPlan {
        BatchPlan(
            id: id, origin: "jlore",
            requests: [
                PlannedRequest(name: "activate_dialup", groups: [
                    HostGroup(["canary1"]),
                    HostGroup(["web1", "web2"], batch: .percent(50), maxFailures: .count(1), pause: 30, check: "web_health"),
                ]),
                PlannedRequest(name: "gone", groups: [], undeliverable: "no delivery.yaml entry for 'gone'"),
            ],
            hostTimeout: 12.5, expires: created.adding(seconds: 86_400))
    }

    static var collectedPlan: CollectedPlan {
        var first = PlannedHost(index: 0, request: "activate_dialup", host: "monk1")
        first.state = .ok
        first.commandDigest = "sha256:" + String(repeating: "ab", count: 32)
        first.commands = ["/usr/bin/blahh", "/usr/sbin/useradd -m 'it''s'"]
        var second = PlannedHost(index: 1, request: "plain", host: "jlore")
        second.state = .ok
        second.commandDigest = "sha256:" + String(repeating: "cd", count: 32)
        return CollectedPlan(id: id, name: "provision: \"x\"", origin: "jlore", created: created, hosts: [first, second])
    }

    @Test("a batch plan keeps its text and reads back to the same plan")
    func batchPlanText() throws {
        #expect(String(decoding: Self.batchPlan.yaml, as: UTF8.self) == Self.batchPlanText)
        #expect(try BatchPlan(yaml: Array(Self.batchPlanText.utf8), source: "queue.yaml") == Self.batchPlan)
    }

    @Test("a collected plan keeps its text and reads back to the same plan")
    func collectedPlanText() throws {
        let plan = Self.collectedPlan
        #expect(String(decoding: plan.yaml, as: UTF8.self) == Self.collectedPlanText)
        #expect(try CollectedPlan(yaml: Array(Self.collectedPlanText.utf8), hash: try #require(plan.hash), source: "plan.yaml") == plan)
    }

    static let batchPlanText = #"""
# CafeBatch batch plan: the hosts each request goes to, fixed when the batch was accepted.
batch: '20261129-153012-301-9f2c1a7be301'
origin: jlore
timeout: 12.500
expires: '2026-11-30T15:30:12.345Z'
requests:
  - name: activate_dialup
    groups:
      - [canary1]
      - hosts: [web1, web2]
        batch: '50%'
        max-failures: '1'
        pause: 30.000
        check: web_health
  - name: gone
    groups: []
    undeliverable: 'no delivery.yaml entry for ''gone'''

"""#

    static let collectedPlanText = #"""
# CafeBatch plan: every host's command-map entry digest, as the hosts signed them.
# cafe batch run FILE --plan HASH runs FILE only where these digests still hold.
plan: '0950f10a1d8b9de0a3f8d58b1599ad477f66b3eb6bc13fc74f99a6e9a0573ae7'
id: '20261129-153012-301-9f2c1a7be301'
name: 'provision: "x"'
origin: jlore
created: '2026-11-29T15:30:12.345Z'
hosts:
  - index: 0
    request: activate_dialup
    host: monk1
    command-digest: 'sha256:abababababababababababababababababababababababababababababababab'
    commands: [/usr/bin/blahh, '/usr/sbin/useradd -m ''it''''s''']
  - index: 1
    request: plain
    host: jlore
    command-digest: 'sha256:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd'
    commands: []

"""#
}
