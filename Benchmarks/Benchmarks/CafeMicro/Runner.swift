import Benchmark
import CafeCore

/// One command as a node runs it: `CommandRunner.run` of `/bin/true` through `POSIXSpawner`
/// (environment built, three pipes, a new process group, the poll loop that captures the
/// output, reaping, on a thread of its own).
func runnerBenchmarks() {
    let runner = CommandRunner(spawner: POSIXSpawner())
    let command = Command.argv(["/bin/true"])
    Benchmark("runner-true", configuration: .cafe(time: 150, counts: 2)) { _ in
        let result = await runner.run(command, in: RunContext())
        precondition(result.succeeded)
    }
}
