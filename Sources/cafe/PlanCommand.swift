import ArgumentParser
import CafeCore
import CafeNode

/// `cafe batch plan FILE`: every target host says, signed and without running anything, which
/// commands it would run; the plan is printed host by host, its hash last.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Ask every target host, signed, what it would run for a batch; run nothing.",
        discussion: """
            Prints each request on each host with the SHA-256 of the host's command-map entry and the commands \
            it would run, then the plan's hash as the last line. The node stores a complete plan; \
            `cafe batch run FILE --plan HASH` then runs FILE only where every entry is unchanged. Exit 1 when a host \
            did not answer within --timeout, was denied or could not run the request (no hash, nothing stored).
            """)

    @OptionGroup var options: HomeOption

    @Argument(help: "The batch file (YAML); - reads stdin.")
    var file: String

    @Option(help: "Seconds the hosts have to answer.")
    var timeout: Double = Node.defaultPlanTimeout

    func validate() throws {
        if !(timeout > 0 && timeout <= Node.maxPlanTimeout) {
            throw ValidationError("--timeout must be more than 0 and at most \(Int(Node.maxPlanTimeout)) seconds")
        }
    }

    func run() async throws {
        let input = try readBatchInput(file)
        let client = try ControlClient(home: options.nodeHome)
        try client.send(.plan(batch: input.yaml, source: "batch '\(input.name)' from cafe", timeout: timeout))
        var answered = false
        while let event = try client.next() {
            switch event {
            case .status(let text, _):
                // Lines quote the hosts' commands: one safe line each.
                for line in text.split(separator: "\n") { print(TerminalText.safe(String(line))) }
                answered = true
            case .failure(let message, let status):
                throw NodeFailure(message: message, exitStatus: status)
            default:
                throw NodeFailure(message: "the node answered the plan with an unexpected event", exitStatus: 1)
            }
        }
        if !answered { throw NodeNotRunning(home: nil, reason: "the node closed the connection before the plan was complete") }
    }
}
