import CafeCore
import CafeNode
import Glibc

/// `cafe-sim`: runs the deterministic simulation of a fleet of node cores for one seed, a
/// number of seeds, or a number of minutes, and reports every broken invariant with its seed
/// and a trace. Its few options are parsed by hand, as cafe-node's are.
@main
enum CafeSimMain {
    static let usage = """
        USAGE: cafe-sim [--seed N] [--seeds K | --minutes M] [--nodes A-B] [--no-faults] [--trace [--trace-lines N]]

        Simulate fleets of CafeBatch node cores in one process, deterministically: one seed
        gives one fleet, one set of batches, one set of faults, and always the same trace.

        OPTIONS:
          --seed N        The (first) seed (default 1).
          --seeds K       Run K seeds from --seed on (default 1).
          --minutes M     Run seeds from --seed on for M minutes (instead of --seeds).
          --nodes A-B     Fleets of A to B nodes (default 3-12; at most 30).
          --no-faults     No dropped, duplicated or delayed messages, partitions, crashes,
                          write or spawn failures, or clock jumps.
          --trace         Print the trace of every seed (the last lines), not only of failures.
          --trace-lines N How many of the last lines of a trace to print (default 400; 60 for
                          a failure without --trace).
          -h, --help      Show this help.

        Exit 0: no invariant broken; 1: at least one broken (each is printed with its seed and
        the command that replays it); 2: bad usage.

        """

    struct Options {
        var seed: UInt64 = 1
        var seeds = 1
        var minutes: Double?
        var nodes = 3...12
        var faults = true
        var trace = false
        var traceLines = 400
    }

    static func parse(_ arguments: [String]) throws -> Options? {
        var options = Options()
        var arguments = CommandLineArguments(arguments)
        func value(_ flag: String) throws -> String { try arguments.value(of: flag) }
        func number<T: LosslessStringConvertible>(_ flag: String, _ type: T.Type) throws -> T {
            let text = try value(flag)
            guard let parsed = T(text) else { throw InputError(source: "command line", field: flag, message: "'\(text)' is not a number") }
            return parsed
        }
        while let flag = arguments.nextFlag() {
            switch flag {
            case "-h", "--help": return nil
            case "--seed": options.seed = try number(flag, UInt64.self)
            case "--seeds":
                options.seeds = try number(flag, Int.self)
                guard options.seeds > 0 else { throw InputError(source: "command line", field: flag, message: "must be at least 1") }
            case "--minutes":
                let minutes = try number(flag, Double.self)
                guard minutes > 0 else { throw InputError(source: "command line", field: flag, message: "must be more than 0") }
                options.minutes = minutes
            case "--nodes":
                let text = try value(flag)
                let parts = text.split(separator: "-").compactMap { Int($0) }
                guard parts.count == 2, parts[0] >= 3, parts[0] <= parts[1], parts[1] <= 30 else {
                    throw InputError(source: "command line", field: flag, message: "'\(text)' is not a range like 3-12 (3 to 30 nodes)")
                }
                options.nodes = parts[0]...parts[1]
            case "--no-faults": options.faults = false
            case "--trace": options.trace = true
            case "--trace-lines":
                options.traceLines = try number(flag, Int.self)
                guard options.traceLines > 0 else { throw InputError(source: "command line", field: flag, message: "must be at least 1") }
            default: throw InputError(source: "command line", message: "unknown argument '\(flag)'", hint: "see cafe-sim --help")
            }
        }
        return options
    }

    static func main() {
        // Swift seeds its hash tables afresh in every process, which changes the order of
        // dictionary walks; a replay must see the same order, so the simulation runs with
        // deterministic hashing (set here, before anything is hashed, by running again).
        if getenv("SWIFT_DETERMINISTIC_HASHING") == nil {
            setenv("SWIFT_DETERMINISTIC_HASHING", "1", 1)
            let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
            execv("/proc/self/exe", arguments)
            StandardError.write("cafe-sim: cannot run again with deterministic hashing: \(String(cString: strerror(errno)))\n")
            exit(1)
        }
        let options: Options
        do {
            guard let parsed = try parse(Array(CommandLine.arguments.dropFirst())) else {
                print(usage, terminator: "")
                exit(0)
            }
            options = parsed
        } catch {
            StandardError.write("cafe-sim: \(error)\n")
            exit(2)
        }
        let began = Monotonic.seconds()
        var seed = options.seed
        var totals = (seeds: 0, failed: 0, steps: 0, checks: 0, batches: 0, runs: 0)
        var faults = FaultCounts()
        while options.minutes.map({ Monotonic.seconds() - began < $0 * 60 }) ?? (totals.seeds < options.seeds) {
            let outcome: SimulationOutcome
            do {
                outcome = try Simulation.run(SimulationOptions(seed: seed, nodes: options.nodes, faults: options.faults, traceLines: options.traceLines))
            } catch {
                StandardError.write("cafe-sim: seed \(seed): \(error)\n")
                exit(2)
            }
            totals.seeds += 1
            totals.steps += outcome.steps
            totals.checks += outcome.checks
            totals.batches += outcome.batches
            totals.runs += outcome.runs
            faults = faults + outcome.faults
            if options.trace || !outcome.passed {
                print("seed \(seed): \(outcome.nodes) nodes, \(outcome.steps) steps, trace \(String(outcome.traceDigest, radix: 16))")
                for line in outcome.trace.suffix(options.trace ? options.traceLines : 60) { print("  \(line)") }
            }
            if !outcome.passed {
                totals.failed += 1
                for violation in outcome.violations { print("seed \(seed) BROKE: \(violation)") }
                print("replay: cafe-sim --seed \(seed) --nodes \(options.nodes.lowerBound)-\(options.nodes.upperBound)\(options.faults ? "" : " --no-faults") --trace")
            }
            seed &+= 1
        }
        let seconds = max(Monotonic.seconds() - began, 0.001)
        print("""
            \(totals.seeds) seed(s) from \(options.seed), \(totals.failed) with a broken invariant; \(totals.steps) steps, \(totals.checks) invariant checks, \
            \(totals.batches) batches, \(totals.runs) runs in \(Int(seconds)) s: \(Int(Double(totals.seeds) / seconds * 60)) seeds/min, \(Int(Double(totals.steps) / seconds)) steps/s
            faults: \(faults.dropped) dropped, \(faults.duplicated) duplicated, \(faults.delayed) delayed, \(faults.partitions) partitions, \
            \(faults.crashes) crashes, \(faults.writeFailures) write failures, \(faults.spawnFailures) spawn failures, \(faults.clockJumps) clock jumps
            """)
        exit(totals.failed == 0 ? 0 : 1)
    }
}
