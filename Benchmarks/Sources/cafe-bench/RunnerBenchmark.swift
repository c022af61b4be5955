import CafeCore
import Glibc

/// The runner's cost per command against the floor: `posix_spawn` + `waitpid` of `/bin/true`.
enum RunnerBenchmark {
    static func run(count: Int) async {
        print("runner: \(count) runs of /bin/true each way, interleaved in rounds of 100")
        var raw = 0.0, blocking = 0.0, full = 0.0
        let spawner = POSIXSpawner()
        let runner = CommandRunner(spawner: spawner)
        let invocation = ProcessInvocation(arguments: ["/bin/true"], environment: ["PATH=/usr/bin:/bin"], timeout: 30, outputCap: 1 << 20)
        var command = Command.argv(["/bin/true"])
        for _ in 0..<(count / 100) {
            raw += measure(100) { rawSpawn() }
            blocking += measure(100) { _ = spawner.runBlocking(invocation) }
            let start = Monotonic.seconds()
            for _ in 0..<100 { await command.run(runner: runner) }
            full += Monotonic.seconds() - start
        }
        let n = Double(count / 100 * 100)
        let rawMicros = raw / n * 1e6
        print("  raw posix_spawn+waitpid         \(fixed(rawMicros, 1, width: 8)) µs/command  (baseline)")
        print("  POSIXSpawner (pipes, poll)      \(fixed(blocking / n * 1e6, 1, width: 8)) µs/command  \(fixed(blocking / raw, 2))× baseline")
        print("  Command.run (env, stdin, async) \(fixed(full / n * 1e6, 1, width: 8)) µs/command  \(fixed(full / raw, 2))× baseline  (target ≤ 1.5×)")
    }

    static func measure(_ times: Int, _ body: () -> Void) -> Double {
        let start = Monotonic.seconds()
        for _ in 0..<times { body() }
        return Monotonic.seconds() - start
    }

    static func rawSpawn() {
        var pid: pid_t = 0
        let path = strdup("/bin/true")
        defer { free(path) }
        var argv: [UnsafeMutablePointer<CChar>?] = [path, nil]
        var envp: [UnsafeMutablePointer<CChar>?] = [nil]
        guard posix_spawn(&pid, path!, nil, nil, &argv, &envp) == 0 else { fatalError("posix_spawn failed") }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}
