import ArgumentParser
import CafeCore
import CafeNode

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run an ad-hoc command, here or on other hosts.",
        discussion: """
            The command runs as argv, without a shell (use `-- sh -c '...'` for one). Without --on it \
            runs on this host; with --on the hosts must trust this node with adhoc: true.
            """)

    @OptionGroup var options: HomeOption

    @Option(help: ArgumentHelp(
        "Hosts to run on, comma-separated: names, globs of peer names (web*, db?), or @ENTRY for the groups of a delivery.yaml entry.",
        valueName: "HOST,HOST"))
    var on: String?

    @Option(help: "Seconds the hosts may take before silent ones count as no-answer.")
    var timeout: Double?

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    var hosts: [String] {
        (on ?? "").split(separator: ",").map { String($0).trimmingCharacters(in: " ") }.filter { !$0.isEmpty }
    }

    func validate() throws {
        guard let program = command.first, !program.isEmpty else { throw ValidationError("give the command after --") }
        if let timeout, !ControlRequest.timeouts.contains(timeout) { throw ValidationError("--timeout must be more than 0 seconds and at most 30 days") }
        if on == nil && timeout != nil { throw ValidationError("--timeout applies with --on; a run on this host waits for its command") }
        if on != nil {
            guard !hosts.isEmpty else { throw ValidationError("--on needs at least one host") }
            for host in hosts {
                let glob = host.replacing("*", with: "x").replacing("?", with: "x")
                let entry = host.hasPrefix("@") && Names.isValidRequest(String(host.dropFirst()))
                guard entry || Names.isValidNode(glob) else { throw ValidationError("'\(host)' is not a host name, a glob of host names or @ENTRY") }
            }
        }
    }

    func run() async throws {
        let request = Request(name: Request.adhocName, commands: [Command(.argv(command))])
        let input = BatchInput(name: "run \(CommandSpec.argv(command))", requests: [request])
        if on == nil {
            try await runLocally(input, home: options.nodeHome)
        } else {
            try await runOnMesh(input, home: options.nodeHome, timeout: timeout, hosts: hosts)
        }
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return String(text)
    }
}
