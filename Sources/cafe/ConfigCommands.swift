import ArgumentParser
import CafeCore
import CafeCrypto
import CafeNode

/// `cafe reload`: the running node re-reads its config files (as on SIGHUP).
struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload", abstract: "Make the running node re-read and apply its config files (as SIGHUP does).",
        discussion: """
            Every file is read and checked; if all are valid they apply together to everything that starts \
            from now on, and the node says which config generation is in force. Otherwise the node keeps its \
            running configuration, and every error is printed (exit 2). `listen` and `settings` take effect \
            at the next start.
            """)

    @OptionGroup var options: HomeOption

    func run() async throws {
        let client = try ControlClient(home: options.nodeHome)
        try client.send(.reload)
        switch try client.next() {
        case .status(let text, _)?:
            print(text, terminator: "")
        case .failure(let message, let status)?:
            throw NodeFailure(message: message, exitStatus: status)
        default:
            throw NodeNotRunning(home: nil, reason: "no answer from the node")
        }
    }
}

/// `cafe config check`: every problem of every config file, without a node.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Check a node's configuration.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report every error in every config file at once, and problems across files.",
            discussion: """
                Errors (exit 2): anything the node would refuse at start or reload, each with its file, line \
                and field. Warnings (still exit 0): a delivery entry that names this node but has no command-map \
                entry here, a request granted in trust.yaml that this node neither runs nor fans out (with \
                "did you mean"), and command-map entries that no trust.yaml entry allows anyone to ask for.
                """)

        @OptionGroup var options: HomeOption

        func run() async throws {
            let home = options.nodeHome
            switch NodeConfiguration.check(home: home) {
            case .failure(let problems):
                for error in problems.errors { print("error: \(TerminalText.safe("\(error)"))") }
                print("\(problems.errors.count) error(s) in \(home.configDirectory)")
                throw ExitCode(2)
            case .success(let configuration):
                let warnings = Self.warnings(configuration, home: home)
                for warning in warnings { print("warning: \(warning)") }
                let node = configuration.node
                print("config OK: \(node.name), \(node.peers.count) peer(s), \(configuration.delivery.entries.count) delivery entr\(configuration.delivery.entries.count == 1 ? "y" : "ies"), \(configuration.commands.entries.count) command-map entr\(configuration.commands.entries.count == 1 ? "y" : "ies"), \(configuration.trust.rules.count) trust entr\(configuration.trust.rules.count == 1 ? "y" : "ies")\(warnings.isEmpty ? "" : ", \(warnings.count) warning(s)")")
            }
        }

        static func warnings(_ configuration: NodeConfiguration, home: NodeHome) -> [String] {
            var warnings: [String] = []
            let name = configuration.node.name
            for (request, groups) in configuration.delivery.entries.sorted(by: { $0.key < $1.key })
            where groups.joined().contains(name) && configuration.commands.entry(for: request) == nil {
                warnings.append("\(home.deliveryConfig): '\(request)' runs on \(name) too, but \(home.commandsConfig) has no entry for it (it would fail here)")
            }
            // A grant of a request name this node neither runs nor fans out is most likely a typo.
            let known = Set(configuration.commands.entries.keys).union(configuration.delivery.entries.keys)
            for (signer, rule) in configuration.trust.rules.sorted(by: { $0.key < $1.key }) {
                for pattern in rule.requests where !pattern.contains("*") && !pattern.contains("?") && !known.contains(pattern) {
                    let hint = YAMLMapping.suggestion(for: pattern, among: known.sorted())
                    warnings.append("\(home.trustConfig): '\(signer)' may ask for '\(pattern)', which this node neither runs nor fans out\(hint.hasPrefix("did you mean") ? " (\(hint))" : "")")
                }
            }
            let policy = TrustPolicy(configuration.trust)
            for request in configuration.commands.entries.keys.sorted()
            where !configuration.trust.rules.keys.contains(where: { policy.decide(signer: $0, action: .request(request)).allowed }) {
                warnings.append("\(home.commandsConfig): no entry of \(home.trustConfig) allows anyone to ask for '\(request)'")
            }
            return warnings
        }
    }
}

/// `cafe wait [ID]`: until the node answers; with ID, until that batch ends.
struct WaitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait", abstract: "Wait until the local node answers; with ID, follow that batch to its end.",
        discussion: """
            Without ID: exit 0 as soon as the node answers on its control socket (after `cafe-node … &`), 3 if it \
            does not within --timeout. With ID: progress on stderr and the executed file's path last on stdout, \
            as `cafe batch run` prints them (also after Ctrl-C on a `batch run`, or for a batch handed over with \
            `batch deliver`); exit 0 if the batch is done, 1 if it ended in error; at once for a batch that has ended.
            """)

    @OptionGroup var options: HomeOption

    @Argument(help: "A batch id of this node.")
    var id: String?

    @Option(help: "Seconds to wait for the node to answer.")
    var timeout: Double = 30

    func validate() throws {
        if let id, BatchID(validating: id) == nil { throw ValidationError("'\(id)' is not a batch id") }
        guard timeout >= 0 else { throw ValidationError("--timeout must be 0 or more") }
    }

    func run() async throws {
        let home = options.nodeHome
        let deadline = Monotonic.seconds() + timeout
        var client: ControlClient?
        while client == nil {
            do {
                client = try ControlClient(home: home)
            } catch let error as NodeNotRunning {
                guard Monotonic.seconds() < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        guard let id, let client else {
            note("the node of \(home.root) answers")
            return
        }
        try client.send(.follow(batch: id))
        try follow(client, home: home)
    }
}
