import CafeCore
import Testing

/// The object model used from Swift, as the module docs show it. These are the doc examples.
@Suite("object model")
struct ModelTests {
    @Test("a Command runs and keeps its result")
    func commandKeepsResult() async {
        var command = Command.shell("echo hello")
        let result = await command.run()
        #expect(result.termination == .exited(0))
        #expect(command.result == result)
        #expect(command.result?.stdout.text == "hello\n")
    }

    @Test("a Request runs against a command map")
    func requestAgainstMap() async throws {
        var request = Request(name: "activate_dialup", data: try RequestData(["username": "cranky"]))
        let map = CommandMap(entries: ["activate_dialup": CommandMapEntry(commands: [.argv(["echo", "{{username}}"])])])
        await request.run(on: LocalExecutor(node: "jlore", commandMap: map))
        #expect(request.state == .ok)
        #expect(request.records.count == 1)
        #expect(request.records[0].host == "jlore")
        #expect(request.records[0].result?.commands[0].stdout.text == "cranky\n")
    }

    @Test("a Request runs commands added to it directly")
    func requestWithCommands() async {
        var request = Request(name: "adhoc")
        request.add(.argv(["echo", "one"]))
        request.add(.shell("echo two"))
        await request.run(on: LocalExecutor(node: "jlore", commandMap: CommandMap()))
        #expect(request.isAdhoc)
        #expect(request.records[0].result?.commands.map { $0.stdout.text } == ["one\n", "two\n"])
    }

    @Test("the first failing command stops the rest and fails the request")
    func firstFailureStops() async {
        var request = Request(name: "x", commands: [.shell("exit 4"), .shell("echo never")])
        await request.run(on: LocalExecutor(node: "n", commandMap: CommandMap()))
        #expect(request.state == .failed)
        #expect(request.records[0].result?.commands.count == 1)
    }

    @Test("a request with no command-map entry fails with a message naming it")
    func noEntry() async {
        var request = Request(name: "unknown_thing")
        await request.run(on: LocalExecutor(node: "monk1", commandMap: CommandMap()))
        #expect(request.state == .failed)
        #expect(request.records[0].result?.message?.contains("no command-map entry for 'unknown_thing' on monk1") == true)
    }

    @Test("a Batch runs its requests in order and skips the rest after a failure")
    func batchOrder() async throws {
        let map = CommandMap(entries: [
            "first": CommandMapEntry(commands: [.shell("echo 1")]),
            "broken": CommandMapEntry(commands: [.shell("exit 1")]),
            "third": CommandMapEntry(commands: [.shell("echo 3")]),
        ])
        let clock = FixedClock(time: Timestamp(milliseconds: 1_800_000_000_000))
        var batch = Batch(
            id: BatchID(time: clock.now(), random: SystemRandom()), name: "provision", origin: "jlore",
            created: clock.now(), requests: [Request(name: "first"), Request(name: "broken"), Request(name: "third")])
        await batch.run(on: LocalExecutor(node: "jlore", commandMap: map), clock: clock)
        #expect(batch.requests.map(\.state) == [.ok, .failed, .skipped])
        #expect(batch.state == .error)
        #expect(batch.finished == clock.now())
    }

    @Test("a sealed secret that reached this host unopened fails the request before anything runs")
    func sealedSecretRefused() async throws {
        var data = RequestData()
        try data.setSecret("pw", .sealed("sealed:xyz"))
        var request = Request(name: "x", data: data, commands: [.shell("echo ran")])
        await request.run(on: LocalExecutor(node: "n", commandMap: CommandMap()))
        #expect(request.state == .failed)
        #expect(request.records[0].result?.commands.isEmpty == true)
    }

    @Test("a fake spawner can stand in for process spawning")
    func injectedSpawner() async {
        struct Fake: ProcessSpawner {
            func run(_ invocation: ProcessInvocation) async -> ProcessOutcome {
                ProcessOutcome(
                    termination: .exited(0), started: Timestamp(milliseconds: 0), duration: 0,
                    stdout: CapturedOutput(bytes: Array(invocation.arguments.joined(separator: " ").utf8)))
            }
        }
        var command = Command.argv(["pretend", "this"])
        let result = await command.run(runner: CommandRunner(spawner: Fake()))
        #expect(result.stdout.text == "pretend this")
    }

    @Test("data keys are checked and may not collide as environment names")
    func dataKeys() throws {
        var data = RequestData()
        #expect(throws: DataKeyError.self) { try data.set("1abc", "x") }
        #expect(throws: DataKeyError.self) { try data.set("a b", "x") }
        try data.set("home-dir", "x")
        #expect(throws: DataKeyError.self) { try data.set("home_dir", "y") }
        #expect(Names.environmentName(forDataKey: "home-dir") == "CAFE_DATA_HOME_DIR")
    }

    @Test("a group with a check passes without it when no host succeeded within the budget (found by cafe-sim, seed 15)")
    func vacuousCheck() {
        let group = HostGroup(["h1", "h2"], maxFailures: .count(2), check: "health")
        #expect(group.outcome(["h1": .denied, "h2": .failed], checks: nil) == .passed)
        #expect(group.outcome(["h1": .ok, "h2": .failed], checks: nil) == .checkPending, "one host succeeded: its check must run")
        #expect(group.outcome(["h1": .ok, "h2": .failed], checks: ["h1": .failed]) == .checkFailed(hosts: ["h1"]))
        #expect(HostGroup(["h1"], check: "health").outcome(["h1": .failed], checks: nil) == .failed(failures: 1))
    }
}

struct FixedClock: WallClock {
    var time: Timestamp
    func now() -> Timestamp { time }
}

@Suite("results that must fit in one envelope")
struct FittedResultTests {
    func result(_ sizes: [Int]) -> HostResult {
        HostResult(host: "h", state: .ok, commands: sizes.map { size in
            CommandResult(
                command: .shell("x"), termination: .exited(0), started: Timestamp(milliseconds: 0), duration: 0,
                stdout: CapturedOutput(bytes: [UInt8](repeating: 65, count: size)))
        })
    }

    @Test("a result under the budget is left as it is")
    func underBudget() {
        let small = result([10, 20])
        #expect(small.fitted(toOutputBytes: 100) == small)
    }

    @Test("over the budget every stream is cut to the same length, the cut counted and noted")
    func overBudget() {
        let fitted = result([10, 500, 1000]).fitted(toOutputBytes: 610)
        #expect(fitted.commands.map(\.stdout.bytes.count) == [10, 300, 300])
        #expect(fitted.commands.map(\.stdout.droppedBytes) == [0, 200, 700])
        #expect(fitted.commands[0].note == nil, "an untouched command gets no note")
        #expect(fitted.commands[2].note?.contains("trimmed to 300 bytes") == true)
        #expect(fitted.commands.map(\.stdout.bytes.count).reduce(0, +) <= 610)
    }
}
