import ArgumentParser
import CafeCore
import CafeNode

struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch", abstract: "Run, plan or queue a batch file; pause, resume or cancel a running one.",
        subcommands: [Run.self, Deliver.self, PlanCommand.self, Pause.self, Resume.self, Cancel.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Originate a batch now and follow it to the end.",
            discussion: "Progress goes to stderr; the last stdout line is the executed batch file's path.")

        @OptionGroup var options: HomeOption

        @Argument(help: "The batch file (YAML); - reads stdin.")
        var file: String

        @Option(help: "Seconds each host may take, from its own start, before it counts as no-answer.")
        var timeout: Double?

        @Flag(help: "Run every request on this host only, without a node.")
        var local = false

        @Option(help: ArgumentHelp("Run only under this plan (cafe batch plan's last line): each host refuses if its command-map entry changed since.", valueName: "HASH"))
        var plan: String?

        func validate() throws {
            if let timeout, !ControlRequest.timeouts.contains(timeout) { throw ValidationError("--timeout must be more than 0 seconds and at most 30 days") }
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
            commandName: "deliver",
            abstract: "Hand a batch to the local node's queue, print its id and return.")

        @OptionGroup var options: HomeOption

        @Argument(help: "The batch file (YAML); - reads stdin.")
        var file: String

        func run() async throws {
            try await deliverToMesh(try readBatchInput(file), home: options.nodeHome)
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pause",
            abstract: "Start no more hosts of a running batch; hosts already started finish.",
            discussion: "The pause is journaled: it holds across a restart of the node until `cafe batch resume ID`.")

        @OptionGroup var target: BatchTarget

        func run() async throws { try target.send(.pause) }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "resume", abstract: "Go on with a paused batch.")

        @OptionGroup var target: BatchTarget

        func run() async throws { try target.send(.resume) }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cancel",
            abstract: "Start no more hosts; the batch ends in error/ as cancelled once the hosts already running have answered.",
            discussion: "Requests not yet delivered are withdrawn. Hosts that already run a request finish it; their results are kept.")

        @OptionGroup var target: BatchTarget

        func run() async throws { try target.send(.cancel) }
    }
}

/// The batch `cafe batch pause|resume|cancel` acts on.
struct BatchTarget: ParsableArguments {
    @OptionGroup var options: HomeOption

    @Argument(help: "A running batch of this node (`cafe status` lists them).")
    var id: String

    func validate() throws {
        if BatchID(validating: id) == nil { throw ValidationError("'\(id)' is not a batch id") }
    }

    /// Asks the node, prints its one-line answer.
    func send(_ action: BatchControl) throws {
        print(try askNode(.control(batch: id, action: action), home: options.nodeHome).text, terminator: "")
    }
}
