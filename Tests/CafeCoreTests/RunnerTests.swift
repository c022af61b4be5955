import CafeCore
import Glibc
import CafeTestSupport
import Testing

@Suite("command runner")
struct RunnerTests {
    let runner = CommandRunner(killGrace: 0.5)

    func run(_ spec: CommandSpec, timeout: Double = 10, cap: Int = 1 << 20, context: RunContext = RunContext()) async -> CommandResult {
        var command = Command(spec, timeout: timeout, outputCap: cap)
        return await command.run(in: context, runner: runner)
    }

    @Test("exit status, stdout and stderr are captured")
    func exitAndOutput() async {
        let result = await run(.shell("echo out; echo err >&2; exit 3"))
        #expect(result.termination == .exited(3))
        #expect(result.stdout.text == "out\n")
        #expect(result.stderr.text == "err\n")
        #expect(!result.succeeded)
        #expect(result.duration >= 0 && result.duration < 5)
    }

    @Test("a terminating signal is reported as such")
    func signal() async {
        let result = await run(.shell("kill -USR1 $$"))
        #expect(result.termination == .signaled(SIGUSR1))
        #expect(result.outcomeSummary == "signal SIGUSR1")
    }

    @Test("a program that does not exist is reported, not thrown")
    func missingProgram() async {
        let result = await run(.argv(["/nonexistent/program", "x"]))
        guard case .failedToStart(let why) = result.termination else {
            Issue.record("expected failedToStart, got \(result.termination)")
            return
        }
        #expect(why.contains("/nonexistent/program"))
        #expect(why.contains("No such file"))
    }

    @Test("a command that hangs is killed with its whole process group at the timeout")
    func timeoutKillsGroup() async throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let pidFile = directory.path + "/child.pid"
        let result = await run(.shell("sleep 30 & echo $! > \(pidFile); wait"), timeout: 0.5)
        #expect(result.timedOutAfter == 0.5)
        #expect(result.termination == .signaled(SIGTERM))
        #expect(result.duration < 5)
        let pid = pid_t(String(decoding: try FileSystem.read(pidFile, maxBytes: 100), as: UTF8.self).trimmingNewlines())!
        // The grandchild (sleep) was in the group and got the signal too. (Once killed it may
        // linger as a zombie if nothing reaps orphans in this container; that counts as gone.)
        var gone = false
        for _ in 0..<200 where !gone {
            gone = Self.isGoneOrZombie(pid)
            if !gone { usleep(10_000) }
        }
        #expect(gone, "background child \(pid) of the timed-out command is still alive")
    }

    static func isGoneOrZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? FileSystem.read("/proc/\(pid)/stat", maxBytes: 4096) else { return true }
        let text = String(decoding: stat, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return true }
        return text[text.index(close, offsetBy: 2)] == "Z"
    }

    @Test("a command that ignores SIGTERM gets SIGKILL after the grace period")
    func killAfterGrace() async {
        let result = await run(.shell("trap '' TERM; sleep 30"), timeout: 0.3)
        #expect(result.timedOutAfter == 0.3)
        #expect(result.termination == .signaled(SIGKILL) || result.termination == .signaled(SIGTERM))
        #expect(result.duration < 5)
    }

    @Test("output beyond the cap is counted and flagged, and the command is not blocked")
    func outputCap() async {
        let result = await run(.shell("head -c 5000000 /dev/zero | tr '\\0' x; echo done >&2"), cap: 1000)
        #expect(result.termination == .exited(0))
        #expect(result.stdout.bytes.count == 1000)
        #expect(result.stdout.droppedBytes == 5_000_000 - 1000)
        #expect(result.stdout.isTruncated)
        #expect(result.stderr.text == "done\n")
        #expect(!result.stderr.isTruncated)
    }

    @Test("environment: CAFE_* names and one CAFE_DATA_ variable per non-secret key")
    func environment() async throws {
        var data = try RequestData(["username": "cranky", "home-dir": "/home/c"])
        try data.setSecret("pw", .clear(SecretBytes(Array("plane".utf8))))
        let context = RunContext(request: "activate_dialup", batch: "B1", origin: "jlore", node: "monk1", data: data)
        let result = await run(.shell("env | grep ^CAFE_ | sort"), context: context)
        #expect(result.stdout.text == """
            CAFE_BATCH=B1
            CAFE_DATA_HOME_DIR=/home/c
            CAFE_DATA_USERNAME=cranky
            CAFE_NODE=monk1
            CAFE_ORIGIN=jlore
            CAFE_REQUEST=activate_dialup

            """)
        let path = await run(.shell("echo $PATH"))
        #expect(path.stdout.text?.isEmpty == false && path.stdout.text != "\n")
    }

    @Test("stdin carries the whole data as YAML, secrets included")
    func stdin() async throws {
        var data = try RequestData(["username": "cranky"])
        try data.setSecret("pw", .clear(SecretBytes(Array("pl\"ane".utf8))))
        let result = await run(.argv(["cat"]), context: RunContext(data: data))
        #expect(result.stdout.text == "username: cranky\npw: \"pl\\\"ane\"\n")
    }

    @Test("large stdin is written while output is read (no deadlock)")
    func largeStdin() async throws {
        let big = String(repeating: "x", count: 300_000)
        let data = try RequestData(["blob": big])
        let result = await run(.argv(["cat"]), context: RunContext(data: data))
        #expect(result.termination == .exited(0))
        #expect(result.stdout.bytes.count == big.count + "blob: \n".count)
    }

    @Test("a command that does not read stdin is not disturbed")
    func unreadStdin() async throws {
        let data = try RequestData(["blob": String(repeating: "y", count: 500_000)])
        let result = await run(.argv(["true"]), context: RunContext(data: data))
        #expect(result.termination == .exited(0))
    }

    @Test("{{key}} placeholders fill argv entries from non-secret data only")
    func placeholders() async throws {
        var data = try RequestData(["username": "cranky"])
        try data.setSecret("pw", .clear(SecretBytes(Array("plane".utf8))))
        let context = RunContext(data: data)
        let filled = await run(.argv(["echo", "user={{username}}", "{{not a key}}", "{{"]), context: context)
        #expect(filled.stdout.text == "user=cranky {{not a key}} {{\n")
        #expect(filled.command == .argv(["echo", "user=cranky", "{{not a key}}", "{{"]))
        let secret = await run(.argv(["echo", "{{pw}}"]), context: context)
        guard case .failedToStart(let why) = secret.termination else {
            Issue.record("a secret placeholder must not run")
            return
        }
        #expect(why.contains("secret"))
        let missing = await run(.argv(["echo", "{{home}}"]), context: context)
        #expect(missing.termination == .failedToStart("placeholder {{home}} has no value in the request data"))
        let shell = await run(.shell("echo '{{username}}'"), context: context)
        #expect(shell.stdout.text == "{{username}}\n")
    }

    @Test("{{key:operand}} refuses a value that a program would read as an option, and an empty one")
    func operandGuard() async throws {
        let marker = TemporaryDirectory()
        defer { marker.cleanup() }
        for (value, runs) in [("cranky", true), ("-rf", false), ("--help", false), ("", false), ("a-b", true)] {
            let context = RunContext(data: try RequestData(["username": value]))
            let result = await run(.argv(["sh", "-c", "echo ran >> \(marker.path)/ran; echo \"$1\"", "sh", "{{username:operand}}"]), context: context)
            if runs {
                #expect(result.termination == .exited(0) && result.stdout.text == value + "\n")
            } else {
                guard case .failedToStart(let why) = result.termination else {
                    Issue.record("'\(value)' must not reach the command")
                    continue
                }
                #expect(why.contains("placeholder {{username:operand}} refuses"), "\(why)")
            }
        }
        let ran = (try? FileSystem.read(marker.path + "/ran", maxBytes: 4096)) ?? []
        #expect(ran.filter { $0 == UInt8(ascii: "\n") }.count == 2, "only the two operands ran")
    }

    @Test("commands started together run together, more of them than there are cores")
    func concurrentCommands() async throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let count = 8
        // Each command waits until all have started: with fewer running at once they would
        // never all arrive, and would time out.
        let results = await withTaskGroup(of: CommandResult.self) { group in
            for index in 0..<count {
                group.addTask {
                    await run(.shell("touch \(directory.path)/\(index); until [ $(ls \(directory.path) | wc -l) -ge \(count) ]; do sleep 0.05; done"), timeout: 30)
                }
            }
            var results: [CommandResult] = []
            for await result in group { results.append(result) }
            return results
        }
        #expect(results.count == count)
        let failures = results.filter { !$0.succeeded }.map(\.outcomeSummary)
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test("a command inherits stdin, stdout and stderr only, not the caller's other descriptors")
    func noInheritedDescriptors() async {
        let fd = open("/dev/null", O_RDONLY)  // deliberately without O_CLOEXEC
        defer { close(fd) }
        let result = await run(.shell("test -e /proc/$$/fd/\(fd) && echo inherited || echo clean"))
        #expect(result.stdout.text == "clean\n")
    }

    @Test("a background process holding stdout open does not hang the runner")
    func backgroundHoldsPipe() async {
        let result = await run(.shell("sleep 5 & echo started"), timeout: 30)
        #expect(result.termination == .exited(0))
        #expect(result.stdout.text == "started\n")
        #expect(result.note?.contains("background process") == true)
        #expect(result.duration < 4.5)
    }
}

extension String {
    func trimmingNewlines() -> String {
        var text = self
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
