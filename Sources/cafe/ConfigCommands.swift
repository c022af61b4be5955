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
        print(try askNode(.reload, home: options.nodeHome).text, terminator: "")
    }
}

/// `cafe config check`: every problem of every config file, without a node.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Check a node's configuration.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Report every error in every config file at once, and problems across files.",
            discussion: """
                Errors (exit 2): anything the node would refuse at start or reload (config files, keys/node.cert, \
                keys/history/, keys/peers/, config/revoked*.yaml), each with its file, line \
                and field. Warnings (still exit 0): a delivery entry that names this node but has no command-map \
                entry here, a request granted in trust.yaml that this node neither runs nor fans out (with \
                "did you mean"), and command-map entries that no trust.yaml entry allows anyone to ask for.
                """)

        @OptionGroup var options: HomeOption

        func run() async throws {
            let home = options.nodeHome
            // The key files and revocation lists are read at start and reload too.
            let checked = NodeConfiguration.check(home: home).flatMap { configuration -> Result<NodeConfiguration, ConfigurationProblems> in
                do {
                    _ = try HomeKeys.load(home: home, config: configuration.node, ownKey: try KeyFiles.loadPublicKey(from: home).key)
                    return .success(configuration)
                } catch {
                    return .failure(ConfigurationProblems(errors: [error]))
                }
            }
            switch checked {
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
            where groups.allHosts.contains(name) && configuration.commands.entry(for: request) == nil {
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
