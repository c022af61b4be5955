import CafeCore
import Glibc

// cafe-bench: prints figures, each next to a baseline measured in the same run.
//   cafe-bench runner   [COUNT]   per-command overhead of the runner vs raw posix_spawn of /bin/true
//   cafe-bench envelope [COUNT]   encode+sign+verify+decode of a 1 KiB envelope vs libsodium sign+verify
//   cafe-bench scaling [GATEWAYS] [LEAVES]   simulated hierarchical fan-out (pure engines, in-memory network)
//   cafe-bench throughput N HOME...           requests/s through one host from the origins at HOME... (scripts/bench-throughput.sh)
//   cafe-bench submit N HOME                  submits N one-request batches to the origin at HOME and returns

let arguments = Array(CommandLine.arguments.dropFirst())
let count = arguments.count > 1 ? Int(arguments[1]) : nil
switch arguments.first {
case "runner":
    await RunnerBenchmark.run(count: count ?? 2000)
case "envelope":
    EnvelopeBenchmark.run(count: count ?? 20000)
case "scaling":
    let leaves = arguments.count > 2 ? Int(arguments[2]) : nil
    guard (count ?? 100) >= 1, (leaves ?? 100) >= 1 else {
        print("cafe-bench scaling: GATEWAYS and LEAVES must be at least 1")
        exit(2)
    }
    ScalingSimulation.run(gateways: count ?? 100, leaves: leaves ?? 100)
case "throughput" where arguments.count >= 3 && (count ?? 0) > 0:
    ThroughputBenchmark.run(count: count!, homes: arguments.dropFirst(2).map { NodeHome($0) })
case "submit" where arguments.count == 3 && (count ?? 0) > 0:
    print("accepted \(ThroughputBenchmark.submit(count!, home: NodeHome(arguments[2])))")
default:
    print("usage: cafe-bench runner [COUNT] | envelope [COUNT] | scaling [GATEWAYS] [LEAVES] | throughput N HOME... | submit N HOME")
    exit(2)
}
