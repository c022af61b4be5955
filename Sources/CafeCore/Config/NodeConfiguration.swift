/// All four config files of a node, read and checked against each other at start.
public struct NodeConfiguration: Sendable {
    public var node: NodeFile
    public var delivery: DeliveryMap
    public var commands: CommandMap
    public var trust: TrustConfig

    public init(node: NodeFile, delivery: DeliveryMap = DeliveryMap(), commands: CommandMap = CommandMap(), trust: TrustConfig = TrustConfig()) {
        self.node = node
        self.delivery = delivery
        self.commands = commands
        self.trust = trust
    }

    /// Reads `config/` of `home`. `node.yaml` must exist; the other three files may be missing
    /// (no deliveries, no commands, trust nobody). Throws the first problem, naming its file and
    /// line; ``check(home:)`` reports them all.
    public static func load(from home: NodeHome) throws -> NodeConfiguration {
        switch check(home: home) {
        case .success(let configuration): return configuration
        case .failure(let problems): throw problems.errors[0]
        }
    }

    /// Every problem of every config file at once, each naming its file, line and field (a
    /// file that does not parse stops only its own checks), then the checks across files.
    /// `replacing` gives the new text of a file (by path) to check before it is written.
    public static func check(home: NodeHome, replacing: [String: [UInt8]] = [:]) -> Result<NodeConfiguration, ConfigurationProblems> {
        var errors: [any Error] = []
        func read<T>(_ path: String, required: Bool = false, _ parse: ([UInt8]) throws -> T) -> T? {
            if let bytes = replacing[path] {
                do { return try parse(bytes) } catch {
                    errors.append(error)
                    return nil
                }
            }
            guard FileSystem.exists(path) else {
                if required {
                    errors.append(InputError(
                        source: path, message: "not found", hint: "create the node with `cafe init --name NAME --home \(home.root)`"))
                }
                return nil
            }
            do {
                return try parse(try FileSystem.read(path, maxBytes: YAMLLimits.config.maxBytes))
            } catch {
                errors.append(error)
                return nil
            }
        }
        let node = read(home.nodeConfig, required: true) { try NodeFile(yaml: $0, source: home.nodeConfig) }
        let delivery = read(home.deliveryConfig) { try DeliveryMap(yaml: $0, source: home.deliveryConfig) }
        let commands = read(home.commandsConfig) { try CommandMap(yaml: $0, source: home.commandsConfig) }
        let trust = read(home.trustConfig) { try TrustConfig(yaml: $0, source: home.trustConfig) }
        guard let node, errors.isEmpty else { return .failure(ConfigurationProblems(errors: errors)) }
        let configuration = NodeConfiguration(
            node: node, delivery: delivery ?? DeliveryMap(), commands: commands ?? CommandMap(), trust: trust ?? TrustConfig())
        let crossFile = configuration.problems(home: home)
        return crossFile.isEmpty ? .success(configuration) : .failure(ConfigurationProblems(errors: crossFile))
    }

    /// Every name in delivery.yaml and trust.yaml that is not this node or a peer of node.yaml
    /// (in trust.yaml, a node not listed may be proven by a certificate when node.yaml lists
    /// fleets, and `tag:T` grants need a fleet).
    func problems(home: NodeHome) -> [InputError] {
        var problems: [InputError] = []
        let known = Set(node.peers.keys).union([node.name])
        for (request, groups) in delivery.entries.sorted(by: { $0.key < $1.key }) {
            let mark = delivery.marks[request]
            for host in groups.allHosts where host.hasPrefix(HostGroup.tagPrefix) && node.fleets.isEmpty {
                let tag = String(host.dropFirst(HostGroup.tagPrefix.count))
                guard !node.peers.values.contains(where: { $0.tags.contains(tag) }) else { continue }
                problems.append(InputError(
                    source: home.deliveryConfig, line: mark?.line, column: mark?.column, field: request,
                    message: "selector '\(host)' matches no peer: none in node.yaml has tags: [\(tag)], and node.yaml lists no fleets: whose certificates could",
                    hint: "add tags: [\(tag)] to the peers it stands for in \(home.nodeConfig)"))
            }
            for host in groups.allHosts where !host.hasPrefix(HostGroup.tagPrefix) && !known.contains(host) {
                problems.append(InputError(
                    source: home.deliveryConfig, line: mark?.line, column: mark?.column, field: request,
                    message: "host '\(host)' is not this node or a peer in node.yaml",
                    hint: Self.suggestion(host, among: known) ?? "add it under peers: in \(home.nodeConfig) with its key"))
            }
        }
        for signer in trust.rules.keys.sorted() where !known.contains(signer) {
            let mark = trust.marks[signer]
            if signer.hasPrefix(TrustConfig.tagPrefix) {
                if node.fleets.isEmpty {
                    problems.append(InputError(
                        source: home.trustConfig, line: mark?.line, column: mark?.column, field: signer,
                        message: "grants to a tag, but node.yaml lists no fleets: whose certificates carry tags",
                        hint: "add the fleet's key under fleets: in \(home.nodeConfig) (`cafe fleet init` prints it)"))
                }
                continue
            }
            if !node.fleets.isEmpty { continue }
            problems.append(InputError(
                source: home.trustConfig, line: mark?.line, column: mark?.column, field: signer,
                message: "'\(signer)' is not this node or a peer in node.yaml, so its signature cannot be checked",
                hint: Self.suggestion(signer, among: known) ?? "add it under peers: in \(home.nodeConfig) with its key"))
        }
        return problems
    }

    /// "did you mean 'monk1'?" for a name close to a known one.
    static func suggestion(_ name: String, among known: Set<String>) -> String? {
        let hint = YAMLMapping.suggestion(for: name, among: known.sorted())
        return hint.hasPrefix("did you mean") ? hint : nil
    }
}

/// Everything wrong with a node's config files, each with its file and line.
public struct ConfigurationProblems: Error, Sendable, CustomStringConvertible, ExitCoded {
    public var errors: [any Error]

    public init(errors: [any Error]) {
        self.errors = errors
    }

    public var description: String { errors.map { "\($0)" }.joined(separator: "\n") }
    public var exitStatus: Int32 { 2 }
}
