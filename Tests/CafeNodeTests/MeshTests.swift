import CafeCore
import CafeCrypto
import CafeNode
import Glibc
import Testing

/// Real `cafe-node` processes on 127.0.0.1, driven through the `cafe` CLI.
@Suite("mesh of real nodes", .serialized)
struct MeshTests {
    /// jlore (origin), monk1, cluster1; activate_dialup goes to jlore and monk1, then cluster1.
    func seedMesh(settings: String = "") throws -> MeshFixture {
        let mesh = try MeshFixture(["jlore", "monk1", "cluster1"], settings: settings)
        try mesh.write("jlore", "delivery.yaml", "activate_dialup:\n  - [jlore, monk1]\n  - [cluster1]\n")
        for name in mesh.names {
            let marker = mesh.directory.path + "/\(name).ran"
            try mesh.write(name, "commands.yaml", """
                activate_dialup:
                  - echo "$CAFE_NODE $CAFE_DATA_USERNAME" >> \(marker)
                  - ["sh", "-c", "grep '^pw: ' | tr a-z A-Z"]
                  - env
                slow:
                  - echo started >> \(marker).slow; sleep 3; echo finished
                """)
            try mesh.write(name, "trust.yaml", "jlore: {requests: [activate_dialup, slow], adhoc: \(name == "monk1" || name == "jlore")}\n")
        }
        try mesh.directory.write("seed.yaml", """
            name: seed
            requests:
              - name: activate_dialup
                data: {username: cranky, pw: plane}
                secrets: [pw]
            """)
        return mesh
    }

    /// `cafe` on jlore's home; `--home` goes right after the subcommand words.
    func run(_ mesh: MeshFixture, _ arguments: [String]) -> Run {
        let words = Array(arguments.prefix { !$0.hasPrefix("-") && ["batch", "run", "deliver", "status", "rerun", "verify", "show"].contains($0) })
        return cafe(words + ["--home", mesh.home("jlore")] + arguments.dropFirst(words.count), timeout: 120)
    }

    @Test("the seed scenario across three nodes: results come home signed and verify")
    func seedScenario() throws {
        let mesh = try seedMesh()
        defer { mesh.cleanup() }
        try mesh.startAll()
        let result = run(mesh, ["batch", "run", "--timeout", "30", mesh.directory.path + "/seed.yaml"])
        #expect(result.status == 0, "\(result.stderr)\n\(mesh.log("jlore"))\n\(mesh.log("monk1"))")
        #expect(result.lastLine.hasPrefix(mesh.home("jlore") + "/batches/done/"))
        #expect(result.stderr.contains("PW: \"PLANE\""), "the secret reached the command on stdin")
        for name in mesh.names { #expect(lineCount(mesh.directory.path + "/\(name).ran") == 1, "\(name) ran once") }
        let verify = run(mesh, ["verify", result.lastLine])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("PASS  activate_dialup[0] on cluster1"))
        let executed = try FileSystem.read(result.lastLine, maxBytes: 1 << 20)
        #expect(executed.contains("CAFE_NODE=cluster1") && executed.contains("CAFE_DATA_USERNAME=cranky"), "every host's env output is in the file")
        for name in mesh.names {
            let leaks = allFiles(under: mesh.home(name)).filter { $0.1.contains("plane") }.map(\.0)
            #expect(leaks.isEmpty, "the password is in clear in \(leaks)")
            #expect(!mesh.log(name).contains("plane"))
        }
        #expect(mesh.stop("monk1") == 0, "SIGTERM ends the node with status 0")
        // The others stop while their links to monk1 redial: in order, with nothing scheduled
        // on an event loop that has shut down.
        for name in ["jlore", "cluster1"] {
            #expect(mesh.stop(name) == 0)
            #expect(!mesh.log(name).contains("Cannot schedule tasks"), "\(mesh.log(name))")
            #expect(mesh.log(name).contains(" \(name): stopped\n"), "it says it stopped")
        }
    }

    @Test("a config file broken while the node runs does not make finished work look failed: run, show and verify go by the batch")
    func brokenConfigAfterStart() throws {
        let mesh = try seedMesh()
        defer { mesh.cleanup() }
        try mesh.startAll()
        // The running node keeps the delivery map it started with; the file now names a stranger.
        try mesh.write("jlore", "delivery.yaml", "activate_dialup:\n  - [jlore, monk1]\n  - [ghost]\n")
        try mesh.write("jlore", "trust.yaml", "nobody-known: {requests: [x]}\n")
        let result = run(mesh, ["batch", "run", "--timeout", "30", mesh.directory.path + "/seed.yaml"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lastLine.hasPrefix(mesh.home("jlore") + "/batches/done/"))
        #expect(run(mesh, ["show", result.lastLine]).status == 0)
        #expect(run(mesh, ["verify", result.lastLine]).status == 0)
        let status = run(mesh, ["status"])
        #expect(status.stdout.contains(" done   seed "), "finished batches are listed with their names: \(status.stdout)")
    }

    @Test("SIGHUP and cafe reload: broken files keep the running config and every error is logged; fixed files apply without a restart")
    func reload() throws {
        let mesh = try seedMesh()
        defer { mesh.cleanup() }
        try mesh.startAll()
        let seed = mesh.directory.path + "/seed.yaml"
        // Every file of monk1 broken at once: SIGHUP logs each problem, and monk1 keeps serving.
        try mesh.write("monk1", "trust.yaml", "jlore: {requests: [activate_dialup], adhok: true}\n")
        try mesh.write("monk1", "commands.yaml", "activate_dialup: []\n")
        try mesh.write("monk1", "delivery.yaml", "x: [nosuchhost]\n")
        try mesh.write("monk1", "node.yaml", "name: monk1\nlisten: 127.0.0.1:\(mesh.ports["monk1"]!)\npeers: {jlore: {address: nowhere}}\n")
        kill(mesh.processes["monk1"]!.pid, SIGHUP)
        try mesh.waitUntil("monk1 logs every problem", timeout: 10) {
            let log = mesh.log("monk1")
            return log.contains("reload refused: 4 problem(s); still running on config generation 1")
                && log.contains("trust.yaml:1:") && log.contains("did you mean 'adhoc'?") && log.contains("commands.yaml:1:")
                && log.contains("delivery.yaml:") && log.contains("node.yaml:")
        }
        #expect(mesh.processes["monk1"]?.isRunning == true, "SIGHUP does not end the node")
        #expect(run(mesh, ["batch", "run", "--timeout", "30", seed]).status == 0, "the old config still serves")

        // Valid again, and monk1 now denies activate_dialup: the new rule applies without a restart.
        for name in ["node.yaml", "delivery.yaml"] { try FileSystem.remove(mesh.home("monk1") + "/config/" + name) }
        try FileSystem.writeAtomically(
            Array("name: monk1\nlisten: 127.0.0.1:\(mesh.ports["monk1"]!)\npeers:\n  jlore: {address: 127.0.0.1:\(mesh.ports["jlore"]!), key: \"\(mesh.keys["jlore"]!)\"}\n".utf8),
            to: mesh.home("monk1") + "/config/node.yaml")
        try mesh.write("monk1", "commands.yaml", "activate_dialup:\n  - echo ran\n")
        try mesh.write("monk1", "trust.yaml", "jlore: {requests: [slow]}\n")
        let reloaded = cafe(["reload", "--home", mesh.home("monk1")])
        #expect(reloaded.status == 0, "\(reloaded.stderr)")
        #expect(reloaded.stdout.hasPrefix("config generation 2 applied"))
        let denied = run(mesh, ["batch", "run", "--timeout", "30", seed])
        #expect(denied.status == 1)
        let file = try String(decoding: FileSystem.read(denied.lastLine, maxBytes: 1 << 20), as: UTF8.self)
        #expect(file.contains("config generation 2"), "the refusal says which config it used")

        // cafe reload of a broken file: exit 2 with every error, generation 2 stays.
        try mesh.write("monk1", "trust.yaml", "jlore: [oops\n")
        let broken = cafe(["reload", "--home", mesh.home("monk1")])
        #expect(broken.status == 2)
        #expect(broken.stderr.contains("still running on config generation 2") && broken.stderr.contains("trust.yaml:"), "\(broken.stderr)")
    }

    @Test("a reload that changes a peer's key closes the link made with the old key; the new key must prove itself")
    func reloadClosesChangedLinks() throws {
        let mesh = try seedMesh()
        defer { mesh.cleanup() }
        try mesh.write("jlore", "delivery.yaml", "activate_dialup:\n  - [monk1]\n")
        try mesh.start("jlore")
        try mesh.start("monk1")
        let seed = mesh.directory.path + "/seed.yaml"
        #expect(run(mesh, ["batch", "run", "--timeout", "20", seed]).status == 0)
        // jlore is told monk1 has another key (as after a compromise): the live link goes at once.
        let other = try SigningKey.generate().publicKey.text
        let real = mesh.keys["monk1"]!
        mesh.keys["monk1"] = other
        try mesh.rewritePeer("jlore", peer: "monk1", route: "address: 127.0.0.1:\(mesh.ports["monk1"]!)")
        #expect(cafe(["reload", "--home", mesh.home("jlore")]).status == 0)
        try mesh.waitUntil("jlore drops the link made with the old key", timeout: 10) {
            mesh.log("jlore").split(separator: "\n").contains { $0.contains("link down") && $0.contains("peer=monk1") }
        }
        let refused = run(mesh, ["batch", "run", "--timeout", "3", seed])
        #expect(refused.status == 1, "monk1 cannot prove a key it does not hold")
        #expect(mesh.log("jlore").contains("bad signature"))
        // The right key again: the next batch links and runs.
        mesh.keys["monk1"] = real
        try mesh.rewritePeer("jlore", peer: "monk1", route: "address: 127.0.0.1:\(mesh.ports["monk1"]!)")
        #expect(cafe(["reload", "--home", mesh.home("jlore")]).status == 0)
        #expect(run(mesh, ["batch", "run", "--timeout", "20", seed]).status == 0)
    }

    @Test("cafe config check reports every error in every file at once, and warnings across files")
    func configCheck() throws {
        let mesh = try seedMesh()
        defer { mesh.cleanup() }
        let ok = cafe(["config", "check", "--home", mesh.home("monk1")])
        #expect(ok.status == 0, "\(ok.stdout)")
        #expect(ok.stdout.contains("config OK: monk1, 2 peer(s)") && !ok.stdout.contains("warning:"), "\(ok.stdout)")
        // Two files broken: both reported in one run.
        try mesh.write("monk1", "trust.yaml", "jlore: {requests: [activate_dialup], adhok: true}\n")
        try mesh.write("monk1", "delivery.yaml", "x: [monk]\n")
        let bad = cafe(["config", "check", "--home", mesh.home("monk1")])
        #expect(bad.status == 2)
        #expect(bad.stdout.contains("trust.yaml:1:") && bad.stdout.contains("did you mean 'adhoc'?"), "\(bad.stdout)")
        #expect(bad.stdout.contains("delivery.yaml:1:") && bad.stdout.contains("2 error(s)"), "\(bad.stdout)")
        // Files that parse, but disagree: a mistyped host name, and a command nobody may ask for.
        try mesh.write("monk1", "trust.yaml", "jlore: {requests: [activate_dialup]}\n")
        try mesh.write("monk1", "delivery.yaml", "x:\n  - [monk]\n")
        let cross = cafe(["config", "check", "--home", mesh.home("monk1")])
        #expect(cross.status == 2)
        #expect(cross.stdout.contains("host 'monk' is not this node or a peer") && cross.stdout.contains("did you mean 'monk1'?"), "\(cross.stdout)")
        try mesh.write("monk1", "delivery.yaml", "x:\n  - [monk1]\n")
        let warned = cafe(["config", "check", "--home", mesh.home("monk1")])
        #expect(warned.status == 0)
        #expect(warned.stdout.contains("'x' runs on monk1 too, but") && warned.stdout.contains("allows anyone to ask for 'slow'"), "\(warned.stdout)")
        try mesh.write("monk1", "trust.yaml", "jlore: {requests: [activate_dialop, slow]}\n")
        let typo = cafe(["config", "check", "--home", mesh.home("monk1")])
        #expect(typo.stdout.contains("'jlore' may ask for 'activate_dialop', which this node neither runs nor fans out (did you mean 'activate_dialup'?)"), "\(typo.stdout)")
    }

    @Test("--on takes globs of peer names and @ENTRY for the groups of a delivery.yaml entry")
    func onGlobsAndGroups() throws {
        let mesh = try seedMesh()
        defer { mesh.cleanup() }
        try mesh.startAll()
        func hosts(_ run: Run) throws -> [String: HostState] {
            let batch = try Batch(executedYAML: FileSystem.read(run.lastLine, maxBytes: 1 << 20), source: run.lastLine)
            return Dictionary(uniqueKeysWithValues: batch.requests[0].records.map { ($0.host, $0.state) })
        }
        let glob = cafe(["run", "--home", mesh.home("jlore"), "--on", "monk*", "--timeout", "20", "--", "true"])
        #expect(glob.status == 0, "\(glob.stderr)")
        #expect(try hosts(glob) == ["monk1": .ok])
        // The seed entry: jlore and monk1, then cluster1, which does not allow ad-hoc commands.
        let entry = cafe(["run", "--home", mesh.home("jlore"), "--on", "@activate_dialup", "--timeout", "20", "--", "true"])
        #expect(entry.status == 1)
        #expect(try hosts(entry) == ["jlore": .ok, "monk1": .ok, "cluster1": .denied])
        let none = cafe(["run", "--home", mesh.home("jlore"), "--on", "web*", "--", "true"])
        #expect(none.status == 2 && none.stderr.contains("'web*' matches no peer"), "\(none.stderr)")
        let typo = cafe(["run", "--home", mesh.home("jlore"), "--on", "@activate_dialop", "--", "true"])
        #expect(typo.status == 2 && typo.stderr.contains("did you mean 'activate_dialup'?"), "\(typo.stderr)")
    }

    @Test("a host named twice with --on is refused with exit 2, and the node carries on")
    func hostTwice() throws {
        let mesh = try seedMesh()
        defer { mesh.cleanup() }
        try mesh.start("jlore")
        let twice = cafe(["run", "--home", mesh.home("jlore"), "--on", "jlore,jlore", "--", "true"])
        #expect(twice.status == 2)
        #expect(twice.stderr.contains("names host 'jlore' more than once"), "\(twice.stderr)")
        #expect(mesh.processes["jlore"]?.isRunning == true)
        #expect(cafe(["run", "--home", mesh.home("jlore"), "--on", "jlore", "--", "true"]).status == 0)
    }

    @Test("cafe show folds host lists (web[01-03]) and --group prints each set of identical hosts once with its whole output")
    func showGrouped() throws {
        let mesh = try MeshFixture(["jlore", "web01", "web02", "web03", "db1"])
        defer { mesh.cleanup() }
        try mesh.write("jlore", "delivery.yaml", "report:\n  - [web01, web02, web03, db1]\n")
        for name in ["web01", "web02", "web03", "db1"] {
            try mesh.write(name, "trust.yaml", "jlore: {requests: [report]}\n")
            let output = name == "db1" ? "other" : "line one\\nline two\\nline three\\nline four"
            try mesh.write(name, "commands.yaml", "report:\n  - [\"printf\", \"\(output)\\\\n\"]\n")
        }
        try mesh.startAll()
        try mesh.directory.write("report.yaml", "name: report\nrequests:\n  - name: report\n")
        let ran = run(mesh, ["batch", "run", "--timeout", "20", mesh.directory.path + "/report.yaml"])
        #expect(ran.status == 0, "\(ran.stderr)")
        let table = run(mesh, ["show", ran.lastLine])
        #expect(table.status == 0 && table.stdout.contains("web[01-03]"), "\(table.stdout)")
        #expect(table.stdout.contains("… 1 more line(s)"), "the table shows three lines of output")
        let grouped = run(mesh, ["show", "--group", ran.lastLine])
        #expect(grouped.status == 0, "\(grouped.stderr)")
        let lines = grouped.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("== report: ok"))
        #expect(lines.contains("---- web[01-03] (3): ok") && lines.contains("---- db1 (1): ok"), "\(grouped.stdout)")
        #expect(lines.contains("line four"), "the whole output")
        #expect(lines.filter { $0 == "line one" }.count == 1, "identical output printed once")
        #expect(run(mesh, ["show", "--group", "--json", ran.lastLine]).status == 2)
    }

    @Test("a failure in group 1 keeps group 2 from running; the batch goes to error/")
    func groupGating() throws {
        let mesh = try seedMesh()
        defer { mesh.cleanup() }
        try mesh.write("monk1", "commands.yaml", "activate_dialup:\n  - exit 3\n")
        try mesh.startAll()
        let result = run(mesh, ["batch", "run", "--timeout", "30", mesh.directory.path + "/seed.yaml"])
        #expect(result.status == 1)
        #expect(result.lastLine.hasPrefix(mesh.home("jlore") + "/batches/error/"))
        #expect(lineCount(mesh.directory.path + "/cluster1.ran") == 0, "group 2 must not run")
        let text = String(decoding: try FileSystem.read(result.lastLine, maxBytes: 1 << 20), as: UTF8.self)
        #expect(text.contains("- host: cluster1\n        state: skipped"))
        #expect(run(mesh, ["verify", result.lastLine]).status == 0)
    }

    @Test("a request the host's trust.yaml does not allow is denied there, audited, and never run")
    func denied() throws {
        let mesh = try seedMesh()
        defer { mesh.cleanup() }
        try mesh.write("monk1", "trust.yaml", "jlore: {requests: [something_else]}\n")
        try mesh.startAll()
        let result = run(mesh, ["batch", "run", "--timeout", "30", mesh.directory.path + "/seed.yaml"])
        #expect(result.status == 1)
        #expect(lineCount(mesh.directory.path + "/monk1.ran") == 0)
        let status = run(mesh, ["status", "--json", String(FileSystem.basename(of: result.lastLine).dropLast(5))])
        #expect(status.stdout.contains("{\"host\":\"monk1\",\"state\":\"denied\"}"), "\(status.stdout)")
        let audit = String(decoding: try FileSystem.read(mesh.home("monk1") + "/log/audit.log", maxBytes: 1 << 20), as: UTF8.self)
        #expect(audit.contains(" deny signer=jlore action=\"request activate_dialup\""))
        #expect(result.stderr.contains("to allow it, add 'activate_dialup' to requests: of 'jlore' in \(mesh.home("monk1"))/config/trust.yaml (config generation 1)"),
                "the reason names the file and field to change: \(result.stderr)")
    }

    @Test("a stopped host and a frozen host are no-answer within the timeout, never failed")
    func noAnswer() throws {
        let mesh = try seedMesh()
        defer { mesh.cleanup() }
        try mesh.write("jlore", "delivery.yaml", "activate_dialup:\n  - [monk1, cluster1]\n")
        try mesh.start("jlore")
        try mesh.start("monk1")
        mesh.processes["monk1"]?.signal(SIGSTOP)
        defer { mesh.processes["monk1"]?.signal(SIGCONT) }
        let start = Monotonic.seconds()
        let result = run(mesh, ["batch", "run", "--timeout", "2", mesh.directory.path + "/seed.yaml"])
        #expect(Monotonic.seconds() - start < 15)
        #expect(result.status == 1)
        let text = String(decoding: try FileSystem.read(result.lastLine, maxBytes: 1 << 20), as: UTF8.self)
        #expect(text.contains("- host: monk1\n        state: no-answer"))
        #expect(text.contains("- host: cluster1\n        state: no-answer\n        note: 'not delivered within 2 s (--timeout)'"))
        // cluster1 was dialled several times in those 2 s: one clear line, not one per attempt.
        let log = mesh.log("jlore")
        #expect(log.split(separator: "\n").filter { $0.contains("cluster1 is unreachable at 127.0.0.1:") }.count == 1, "\(log)")
        #expect(log.contains("Connection refused; retrying with backoff"))
        #expect(log.contains("debug jlore: cannot connect: Connection refused; next attempt"), "later attempts are at debug level")
        #expect(!log.contains("info jlore: cannot connect"), "SwiftNIO's nested errors stay out of the info log")
    }

    @Test("ad-hoc commands run only where the signer is trusted with adhoc: true")
    func adhoc() throws {
        let mesh = try seedMesh()
        defer { mesh.cleanup() }
        try mesh.startAll()
        let result = run(mesh, ["run", "--timeout", "30", "--on", "monk1,cluster1", "--", "sh", "-c", "echo adhoc on $CAFE_NODE"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("adhoc on monk1"))
        let text = String(decoding: try FileSystem.read(result.lastLine, maxBytes: 1 << 20), as: UTF8.self)
        #expect(text.contains("- host: monk1\n        state: ok"))
        #expect(text.contains("- host: cluster1\n        state: denied"))
    }

    @Test("deliver returns at once; status follows; rerun --failed runs only what failed")
    func deliverStatusRerun() throws {
        let mesh = try seedMesh()
        defer { mesh.cleanup() }
        try mesh.write("jlore", "delivery.yaml", "activate_dialup:\n  - [monk1, cluster1]\n")
        try mesh.start("jlore")
        try mesh.start("monk1")
        let delivered = run(mesh, ["batch", "deliver", mesh.directory.path + "/seed.yaml"])
        #expect(delivered.status == 0)
        let id = delivered.lastLine
        #expect(BatchID(validating: id) != nil)
        try mesh.waitUntil("monk1 has run", timeout: 20) { lineCount(mesh.directory.path + "/monk1.ran") == 1 }
        let status = run(mesh, ["status", id])
        #expect(status.stdout.contains("cluster1"), "\(status.stdout)")
        #expect(status.stdout.contains("monk1"))
        // cluster1 starts late: store-and-forward delivers the waiting request, and `cafe wait ID`
        // follows the batch to its end as `batch run` would have.
        try mesh.start("cluster1")
        let waited = cafe(["wait", "--home", mesh.home("jlore"), id], timeout: 60)
        #expect(waited.status == 0, "\(waited.stderr)")
        #expect(waited.lastLine == mesh.home("jlore") + "/batches/done/\(id).yaml")
        let again = cafe(["wait", "--home", mesh.home("jlore"), id])
        #expect(again.status == 0 && again.lastLine == waited.lastLine, "a batch that has ended is answered at once")
        #expect(cafe(["wait", "--home", mesh.home("jlore"), "20261202-000000-000-000000000000"]).status == 2)
        let list = run(mesh, ["status"])
        #expect(list.stdout.contains(id))
        // Now make cluster1 fail, and rerun only the failures.
        try mesh.write("cluster1", "commands.yaml", "activate_dialup:\n  - exit 9\n")
        mesh.stop("cluster1")
        try mesh.start("cluster1")
        let failing = run(mesh, ["batch", "run", "--timeout", "30", mesh.directory.path + "/seed.yaml"])
        #expect(failing.status == 1)
        let failedID = String(FileSystem.basename(of: failing.lastLine).dropLast(5))
        let monkRuns = lineCount(mesh.directory.path + "/monk1.ran")
        let rerun = run(mesh, ["rerun", "--failed", "--timeout", "30", failedID])
        #expect(rerun.status == 1, "cluster1 still fails")
        #expect(lineCount(mesh.directory.path + "/monk1.ran") == monkRuns, "monk1 succeeded before and is not asked again")
        let text = String(decoding: try FileSystem.read(rerun.lastLine, maxBytes: 1 << 20), as: UTF8.self)
        #expect(text.contains("rerun of \(failedID)"))
        #expect(!text.contains("host: monk1"))
    }

    @Test("kill -9 of the origin mid-batch: it resumes and writes a correct done/ file; nothing runs twice")
    func killOrigin() throws {
        let mesh = try seedMesh()
        defer { mesh.cleanup() }
        try mesh.write("jlore", "delivery.yaml", "slow:\n  - [monk1, cluster1]\n")
        try mesh.startAll()
        try mesh.directory.write("slow.yaml", "name: slow\nrequests:\n  - name: slow\n")
        let id = run(mesh, ["batch", "deliver", mesh.directory.path + "/slow.yaml"]).lastLine
        try mesh.waitUntil("both hosts started the slow request", timeout: 20) {
            lineCount(mesh.directory.path + "/monk1.ran.slow") == 1 && lineCount(mesh.directory.path + "/cluster1.ran.slow") == 1
        }
        mesh.kill9("jlore")
        try mesh.start("jlore")
        try mesh.waitUntil("the resumed batch is done", timeout: 30) { FileSystem.exists(mesh.home("jlore") + "/batches/done/\(id).yaml") }
        #expect(run(mesh, ["verify", id]).status == 0)
        #expect(lineCount(mesh.directory.path + "/monk1.ran.slow") == 1)
        #expect(lineCount(mesh.directory.path + "/cluster1.ran.slow") == 1)
        #expect(mesh.log("jlore").contains("resuming batch after a restart"))
    }

    /// Starts the mesh, hands jlore a batch of `slow` (3 s) for monk1, and returns its id once
    /// monk1 has started it.
    func deliverSlowToMonk1(_ mesh: MeshFixture) throws -> String {
        try mesh.write("jlore", "delivery.yaml", "slow:\n  - [monk1]\n")
        try mesh.startAll()
        try mesh.directory.write("slow.yaml", "name: slow\nrequests:\n  - name: slow\n")
        let id = run(mesh, ["batch", "deliver", mesh.directory.path + "/slow.yaml"]).lastLine
        try mesh.waitUntil("monk1 started the slow request", timeout: 20) { lineCount(mesh.directory.path + "/monk1.ran.slow") == 1 }
        return id
    }

    @Test("a result kept only in the host's spool reaches the origin after both were killed: the host queues it again at start")
    func resultFromSpoolAfterRestarts() throws {
        let mesh = try seedMesh()
        defer { mesh.cleanup() }
        let id = try deliverSlowToMonk1(mesh)
        mesh.kill9("jlore")
        try mesh.waitUntil("monk1 stored its result", timeout: 20) { try spooledRequests(mesh.home("monk1")).values.contains { $0.result } }
        // The result is in monk1's spool and, until acknowledged, in its outbox's memory only.
        mesh.kill9("monk1")
        try mesh.start("monk1")
        try mesh.start("jlore")
        try mesh.waitUntil("the batch is done", timeout: 30) { FileSystem.exists(mesh.home("jlore") + "/batches/done/\(id).yaml") }
        #expect(run(mesh, ["verify", id]).status == 0)
        #expect(lineCount(mesh.directory.path + "/monk1.ran.slow") == 1, "never run twice")
    }

    @Test("kill -9 of a host mid-request: after restart it reports the request interrupted and does not run it again")
    func killHost() throws {
        let mesh = try seedMesh()
        defer { mesh.cleanup() }
        let id = try deliverSlowToMonk1(mesh)
        mesh.kill9("monk1")
        try mesh.start("monk1")
        try mesh.waitUntil("the batch ends in error/", timeout: 30) { FileSystem.exists(mesh.home("jlore") + "/batches/error/\(id).yaml") }
        let text = String(decoding: try FileSystem.read(mesh.home("jlore") + "/batches/error/\(id).yaml", maxBytes: 1 << 20), as: UTF8.self)
        #expect(text.contains("interrupted: cafe-node on monk1 stopped while this request ran"))
        // monk1 is past every point where it could start the request again once the interrupted
        // result is recorded in its spool (a finished entry never runs) and jlore has acknowledged
        // it (jlore's batch is over: it sends the request no more). The first run, orphaned by
        // the kill, may still be sleeping; it writes nothing more to the marker.
        try mesh.waitUntil("monk1 recorded the interrupted result and jlore acknowledged it", timeout: 20) {
            let entry = try spooledRequests(mesh.home("monk1"))["jlore.\(id).0"]
            return entry?.result == true && entry?.delivered == true
        }
        #expect(lineCount(mesh.directory.path + "/monk1.ran.slow") == 1, "not started again")
        #expect(run(mesh, ["verify", id]).status == 0)
    }
}
