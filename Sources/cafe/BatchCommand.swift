import ArgumentParser
import CafeCore
import CafeNode

struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch", abstract: "Run or queue a batch file.", subcommands: [Run.self, Deliver.self, PlanCommand.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Originate a batch now and follow it to the end.",
            discussion: "Progress goes to stderr; the last stdout line is the executed batch file's path.")

        @OptionGroup var options: HomeOption

        @Argument(help: "The batch file (YAML); - reads stdin.")
        var file: String

        @Option(help: "Seconds each group of hosts may take before silent hosts count as no-answer.")
        var timeout: Double?

        @Flag(help: "Run every request on this host only, without a node.")
        var local = false

        @Option(help: ArgumentHelp("Run only under this plan (cafe batch plan's last line): each host refuses if its command-map entry changed since.", valueName: "HASH"))
        var plan: String?

        func validate() throws {
            if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be more than 0 seconds") }
            if local && timeout != nil { throw ValidationError("--timeout applies to mesh runs, not --local") }
            if local && plan != nil { throw ValidationError("--plan applies to mesh runs, not --local") }
        }

        func run() async throws {
            let input = try readBatchInput(file)
            if local {
                try await runLocally(input, home: options.nodeHome)
            } else {
                try await runOnMesh(input, home: options.nodeHome, timeout: timeout, plan: plan)
            }
        }
    }

    struct Deliver: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hand a batch to the local node's queue, print its id and return.")

        @OptionGroup var options: HomeOption

        @Argument(help: "The batch file (YAML); - reads stdin.")
        var file: String

        func run() async throws {
            try await deliverToMesh(try readBatchInput(file), home: options.nodeHome)
        }
    }
}
