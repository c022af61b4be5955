import CafeCore
import CafeNode
import Foundation
import Testing

/// A staged rollout over 12 real nodes on loopback: a canary, a tagged group 25% at a time
/// with a pause and a health check, a 10% budget that one no-answer host exceeds; a failing
/// check that stops the next group; and the operator's pause and resume across a restart.
@Suite("rollouts across 12 nodes", .serialized)
struct RolloutMeshTests {
    static let web = (1...8).map { "w\($0)" }
    static let names = ["o", "c1"] + web + ["d1", "d2"]

    /// The origin `o` knows w1…w8 as tagged `web`; every host logs when its deploy starts and ends.
    func rolloutMesh() throws -> MeshFixture {
        var routes: [String: [String: String?]] = ["o": [:]]
        for host in Self.web { routes["o"]![host] = "address: 127.0.0.1:PORT(\(host)), tags: [web]" }
        let mesh = try MeshFixture(Self.names, routes: routes)
        let log = mesh.directory.path + "/deploy.log"
        try mesh.write("o", "delivery.yaml", """
            deploy:
              - [c1]
              - hosts: ["tag:web"]
                batch: 25%
                pause: 1s
                check: health
              - hosts: [d1, d2]
                max-failures: 10%
              - [o]
            canary_check:
              - hosts: [c1]
                check: health_bad
              - [w1]
            slow_roll:
              - hosts: ["tag:web"]
                batch: 1
            """)
        for name in Self.names {
            try mesh.write(name, "commands.yaml", """
                deploy:
                  - echo "start $(date +%s%N) \(name)" >> \(log); sleep 0.3; echo "end $(date +%s%N) \(name)" >> \(log)
                health:
                  - "true"
                health_bad:
                  - "false"
                canary_check:
                  - "true"
                slow_roll:
                  - echo \(name) >> \(mesh.directory.path)/slow.ran; sleep 0.5
                """)
            try mesh.write(name, "trust.yaml", "o: {requests: [deploy, health, health_bad, canary_check, slow_roll]}\n")
        }
        return mesh
    }

    func cafe(_ mesh: MeshFixture, _ words: [String], _ rest: [String] = []) -> Run {
        CafeNodeTests.cafe(words + ["--home", mesh.home("o")] + rest, timeout: 120)
    }

    func batchFile(_ mesh: MeshFixture, _ request: String) throws -> String {
        try mesh.directory.write("\(request).yaml", "name: \(request)\nrequests:\n  - name: \(request)\n")
        return mesh.directory.path + "/\(request).yaml"
    }

    /// Host → state of batch `id`'s first request, and the batch's state, from `cafe status --json`.
    func status(_ mesh: MeshFixture, _ id: String) throws -> (state: String, hosts: [String: String]) {
        let run = cafe(mesh, ["status", id], ["--json"])
        guard run.status == 0, let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any],
            let state = object["state"] as? String, let requests = object["requests"] as? [[String: Any]],
            let hosts = requests.first?["hosts"] as? [[String: Any]]
        else { throw EnvironmentError("cafe status \(id) --json: \(run.stdout)\(run.stderr)") }
        var states: [String: String] = [:]
        for host in hosts { states[host["host"] as? String ?? "?"] = host["state"] as? String }
        return (state, states)
    }

    @Test("canary, a 25% window with a pause and a passing check, then a 10% budget exceeded by one no-answer host stops the rollout")
    func fourGroups() throws {
        let mesh = try rolloutMesh()
        defer { mesh.cleanup() }
        for name in Self.names where name != "d2" { try mesh.start(name) }
        let run = cafe(mesh, ["batch", "run"], ["--timeout", "4", try batchFile(mesh, "deploy")])
        #expect(run.status == 1, "the rollout stops in error: \(run.stderr)")
        let path = run.lastLine
        #expect(path.contains("/batches/error/"))
        let batch = try Batch(executedYAML: FileSystem.read(path, maxBytes: 1 << 24), source: path)
        let states = Dictionary(uniqueKeysWithValues: batch.requests[0].records.map { ($0.host, $0.state) })
        for host in ["c1"] + Self.web + ["d1"] { #expect(states[host] == .ok, "\(host)") }
        #expect(states["d2"] == .noAnswer)
        #expect(states["o"] == .skipped, "the fourth group never starts")
        #expect(batch.requests[0].groups?[1].hosts == Self.web, "the selector is recorded as the hosts it resolved to")
        let note = batch.requests[0].note ?? ""
        #expect(note.contains("group 3 exceeded its failure budget") && note.contains("d2 no-answer") && note.contains("0 tolerated"), "\(note)")
        #expect(batch.requests[0].checks.map(\.request) == ["health"])
        #expect(Set(batch.requests[0].checks.first?.records.map(\.host) ?? []) == Set(Self.web))
        #expect(batch.requests[0].checks.first?.records.allSatisfy { $0.state == .ok && $0.signedResult != nil } == true)
        #expect(cafe(mesh, ["verify", path]).status == 0, "the executed file, checks and budget included, verifies")
        #expect(run.stderr.contains("group 2/4: 8 host(s), 2 at a time"), "\(run.stderr)")

        // The hosts' own clocks: no more than two web hosts at once, none before the canary
        // ended, and group 3 only after group 2's pause.
        var events: [(time: Int, start: Bool, host: String)] = []
        for line in String(decoding: try FileSystem.read(mesh.directory.path + "/deploy.log", maxBytes: 1 << 20), as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            if fields.count == 3, let time = Int(fields[1]) { events.append((time, fields[0] == "start", fields[2])) }
        }
        events.sort { $0.time < $1.time }
        var running = Set<String>()
        var most = 0
        for event in events where Self.web.contains(event.host) {
            if event.start { running.insert(event.host) } else { running.remove(event.host) }
            most = max(most, running.count)
        }
        #expect(most == 2, "25% of 8 hosts: two at a time")
        let canaryEnd = events.first { !$0.start && $0.host == "c1" }?.time ?? .max
        #expect(events.filter { $0.start && Self.web.contains($0.host) }.allSatisfy { $0.time > canaryEnd })
        let lastWebEnd = events.filter { !$0.start && Self.web.contains($0.host) }.map(\.time).max() ?? 0
        let d1Start = events.first { $0.start && $0.host == "d1" }?.time ?? 0
        #expect(d1Start - lastWebEnd >= 1_000_000_000, "the 1 s pause after group 2 (and its check)")
    }

    @Test("a failing health check stops the next group")
    func failingCheck() throws {
        let mesh = try rolloutMesh()
        defer { mesh.cleanup() }
        for name in ["o", "c1", "w1"] { try mesh.start(name) }
        let run = cafe(mesh, ["batch", "run"], ["--timeout", "10", try batchFile(mesh, "canary_check")])
        #expect(run.status == 1)
        let batch = try Batch(executedYAML: FileSystem.read(run.lastLine, maxBytes: 1 << 24), source: run.lastLine)
        #expect(batch.requests[0].records.first { $0.host == "c1" }?.state == .ok)
        #expect(batch.requests[0].records.first { $0.host == "w1" }?.state == .skipped)
        #expect(batch.requests[0].checks.first?.records.first?.state == .failed)
        #expect(batch.requests[0].note == "group 1: check health_bad did not pass on c1 failed")
        #expect(cafe(mesh, ["verify", run.lastLine]).status == 0)
    }

    @Test("pause: started hosts finish and no other starts, also after kill -9 of the origin; resume finishes the batch; cancel ends it in error")
    func pauseResumeCancel() throws {
        let mesh = try rolloutMesh()
        defer { mesh.cleanup() }
        for name in ["o"] + Self.web { try mesh.start(name) }
        let id = cafe(mesh, ["batch", "deliver"], [try batchFile(mesh, "slow_roll")]).lastLine
        let paused = cafe(mesh, ["batch", "pause", id])
        #expect(paused.status == 0 && paused.stdout.contains("paused"), "\(paused.stdout)\(paused.stderr)")
        // Hosts started before the pause finish; their results are what admission decides on.
        let started = Set(try status(mesh, id).hosts.filter { $0.value != "queued" }.keys)
        try mesh.waitUntil("the hosts started before the pause have answered", timeout: 20) {
            try status(mesh, id).hosts.filter { started.contains($0.key) }.values.allSatisfy { $0 == "ok" }
        }
        var now = try status(mesh, id)
        #expect(now.state == "paused")
        #expect(now.hosts.filter { $0.value != "queued" }.keys.sorted() == started.sorted(), "no host started while paused")
        mesh.kill9("o")
        try mesh.start("o")
        now = try status(mesh, id)
        #expect(now.state == "paused", "the pause holds across a restart")
        #expect(now.hosts.filter { $0.value != "queued" }.keys.sorted() == started.sorted())
        #expect(cafe(mesh, ["batch", "resume", id]).status == 0)
        try mesh.waitUntil("the resumed batch is done", timeout: 40) { FileSystem.exists(mesh.home("o") + "/batches/done/\(id).yaml") }
        #expect(lineCount(mesh.directory.path + "/slow.ran") == 8, "each host ran once")
        #expect(cafe(mesh, ["verify", id]).status == 0)

        let second = cafe(mesh, ["batch", "deliver"], [try batchFile(mesh, "slow_roll")]).lastLine
        let cancelled = cafe(mesh, ["batch", "cancel", second])
        #expect(cancelled.status == 0 && cancelled.stdout.contains("cancelled"), "\(cancelled.stdout)\(cancelled.stderr)")
        try mesh.waitUntil("the cancelled batch ends in error/", timeout: 20) { FileSystem.exists(mesh.home("o") + "/batches/error/\(second).yaml") }
        let path = mesh.home("o") + "/batches/error/\(second).yaml"
        let batch = try Batch(executedYAML: FileSystem.read(path, maxBytes: 1 << 24), source: path)
        #expect(batch.cancelled != nil && batch.requests[0].note == "cancelled by the operator")
        #expect(batch.requests[0].records.filter { $0.state == .skipped }.count >= 6, "hosts not started are skipped")
        #expect(cafe(mesh, ["verify", path]).status == 0)
        #expect(cafe(mesh, ["batch", "resume", second]).status != 0, "an ended batch cannot be resumed")
    }

    @Test("a forwarding host applies its own group's budget: one leaf down of two tolerated, its signed ok verifies at the origin")
    func budgetAtForwardingHost() throws {
        let mesh = try MeshFixture(["hq", "gw", "l1", "l2"])
        defer { mesh.cleanup() }
        try mesh.write("hq", "delivery.yaml", "provision:\n  - [gw]\n")
        try mesh.write("gw", "delivery.yaml", "provision:\n  - hosts: [l1, l2]\n    max-failures: 1\n")
        try mesh.write("gw", "trust.yaml", "hq: {relay: true}\n")
        try mesh.write("l1", "commands.yaml", "provision:\n  - \"true\"\n")
        try mesh.write("l1", "trust.yaml", "hq: {requests: [provision]}\n")
        for name in ["hq", "gw", "l1"] { try mesh.start(name) }
        try mesh.directory.write("provision.yaml", "name: provision\nrequests:\n  - name: provision\n")
        let run = CafeNodeTests.cafe(["batch", "run", "--home", mesh.home("hq"), "--timeout", "6", mesh.directory.path + "/provision.yaml"])
        #expect(run.status == 0, "\(run.stderr)\n\(mesh.log("gw"))")
        let verify = CafeNodeTests.cafe(["verify", "--home", mesh.home("hq"), run.lastLine])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("provision[0] via gw on l2: no-answer"), "\(verify.stdout)")
        // Without the budget the same leaves make the forwarding host's ok a lie.
        let text = String(decoding: try FileSystem.read(run.lastLine, maxBytes: 1 << 24), as: UTF8.self)
        #expect(text.contains("leaf-groups"))
    }

    @Test("a forwarding host asks its group's check in its own name: a failing check fails its result, a passing one lets it succeed; both verify at the origin")
    func checkAtForwardingHost() throws {
        let mesh = try MeshFixture(["hq", "gw", "l1", "l2"])
        defer { mesh.cleanup() }
        try mesh.write("hq", "delivery.yaml", "provision:\n  - [gw]\n")
        try mesh.write("gw", "delivery.yaml", "provision:\n  - hosts: [l1, l2]\n    check: health\n")
        try mesh.write("gw", "trust.yaml", "hq: {relay: true}\n")
        for leaf in ["l1", "l2"] {
            try mesh.write(leaf, "commands.yaml", "provision:\n  - \"true\"\nhealth:\n  - \"\(leaf == "l2" ? "false" : "true")\"\n")
            try mesh.write(leaf, "trust.yaml", "hq: {requests: [provision]}\ngw: {requests: [health]}\n")
        }
        try mesh.startAll()
        try mesh.directory.write("provision.yaml", "name: provision\nrequests:\n  - name: provision\n")
        func run() -> (run: Run, verify: Run) {
            let run = CafeNodeTests.cafe(["batch", "run", "--home", mesh.home("hq"), "--timeout", "20", mesh.directory.path + "/provision.yaml"])
            return (run, CafeNodeTests.cafe(["verify", "--home", mesh.home("hq"), run.lastLine]))
        }
        let failing = run()
        #expect(failing.run.status == 1, "\(failing.run.stderr)")
        #expect(failing.run.stderr.contains("gw: failed — below gw: group 1: check health did not pass on l2 failed"), "\(failing.run.stderr)")
        #expect(failing.verify.status == 0, "\(failing.verify.stdout)")
        #expect(failing.verify.stdout.contains("via gw group 1 check health[0] on l2: failed, signed by l2"), "\(failing.verify.stdout)")

        try mesh.write("l2", "commands.yaml", "provision:\n  - \"true\"\nhealth:\n  - \"true\"\n")
        #expect(CafeNodeTests.cafe(["reload", "--home", mesh.home("l2")]).status == 0)
        let passing = run()
        #expect(passing.run.status == 0, "\(passing.run.stderr)")
        #expect(passing.verify.status == 0, "\(passing.verify.stdout)")
        #expect(passing.verify.stdout.contains("via gw group 1 check health[0] on l1: ok, signed by l1"), "\(passing.verify.stdout)")
    }

    @Test("on a terminal, cafe batch run draws one live line: the group, done of all, ok, failed, no-answer, elapsed seconds")
    func liveLineOnATerminal() throws {
        let mesh = try MeshFixture(["o", "a", "b", "c"])
        defer { mesh.cleanup() }
        try mesh.write("o", "delivery.yaml", "deploy:\n  - [a]\n  - hosts: [b, c]\n    batch: 1\n")
        for name in ["a", "b", "c"] {
            try mesh.write(name, "commands.yaml", "deploy:\n  - \"\(name == "c" ? "false" : "true")\"\n")
            try mesh.write(name, "trust.yaml", "o: {requests: [deploy]}\n")
        }
        try mesh.startAll()
        let file = try batchFile(mesh, "deploy")
        // util-linux's script(1) gives the command a pseudo-terminal, as an operator's shell would.
        let command = [Binaries.cafe, "batch", "run", "--home", mesh.home("o"), "--timeout", "20", file].joined(separator: " ")
        let outcome = POSIXSpawner().runBlocking(ProcessInvocation(
            arguments: ["/usr/bin/script", "-qec", command, "/dev/null"],
            environment: ["PATH=/usr/bin:/bin", "HOME=/nonexistent-home", "TERM=dumb"], timeout: 60, outputCap: 1 << 20))
        let screen = String(decoding: outcome.stdout.bytes, as: UTF8.self)
        #expect(outcome.termination == .exited(1), "c fails: \(screen)")
        // Redrawn in place (carriage return, erase line), with the current group and the counts.
        #expect(screen.contains("\r\u{1B}[K[0] deploy, group 2/2: "), "\(screen)")
        #expect(screen.contains("3/3 done, 2 ok, 1 failed, 0 no-answer, "), "\(screen)")
        #expect(screen.contains("[0] deploy on c: failed"), "a failure also gets a line of its own")
    }
}

