/// All four config files of a node, read and checked against each other at start.
public struct NodeConfiguration: Sendable {
    public var node: NodeConfig
    public var delivery: DeliveryMap
    public var commands: CommandMap
    public var trust: TrustConfig

    public init(node: NodeConfig, delivery: DeliveryMap = DeliveryMap(), commands: CommandMap = CommandMap(), trust: TrustConfig = TrustConfig()) {
        self.node = node
        self.delivery = delivery
        self.commands = commands
        self.trust = trust
    }

    /// Reads `config/` of `home`. `node.yaml` must exist; the other three files may be missing
    /// (no deliveries, no commands, trust nobody). Every problem names its file and line.
    public static func load(from home: NodeHome) throws -> NodeConfiguration {
        guard FileSystem.exists(home.nodeConfig) else {
            throw InputError(
                source: home.nodeConfig, message: "not found",
                hint: "create the node with `cafe init --name NAME --home \(home.root)`")
        }
        let node = try NodeConfig(yaml: FileSystem.read(home.nodeConfig, maxBytes: YAMLLimits.config.maxBytes), source: home.nodeConfig)
        func optionalFile(_ path: String) throws -> [UInt8]? {
            FileSystem.exists(path) ? try FileSystem.read(path, maxBytes: YAMLLimits.config.maxBytes) : nil
        }
        let delivery = try optionalFile(home.deliveryConfig).map { try DeliveryMap(yaml: $0, source: home.deliveryConfig) } ?? DeliveryMap()
        let commands = try optionalFile(home.commandsConfig).map { try CommandMap(yaml: $0, source: home.commandsConfig) } ?? CommandMap()
        let trust = try optionalFile(home.trustConfig).map { try TrustConfig(yaml: $0, source: home.trustConfig) } ?? TrustConfig()
        let configuration = NodeConfiguration(node: node, delivery: delivery, commands: commands, trust: trust)
        try configuration.validate(home: home)
        return configuration
    }

    /// Names in delivery.yaml and trust.yaml must be this node or a peer of node.yaml.
    public func validate(home: NodeHome) throws {
        let known = Set(node.peers.keys).union([node.name])
        for (request, groups) in delivery.entries.sorted(by: { $0.key < $1.key }) {
            for host in groups.joined() where !known.contains(host) {
                let mark = delivery.marks[request]
                throw InputError(
                    source: home.deliveryConfig, line: mark?.line, column: mark?.column, field: request,
                    message: "host '\(host)' is not this node or a peer in node.yaml",
                    hint: "add it under peers: in \(home.nodeConfig) with its key")
            }
        }
        for signer in trust.rules.keys.sorted() where !known.contains(signer) {
            let mark = trust.marks[signer]
            throw InputError(
                source: home.trustConfig, line: mark?.line, column: mark?.column, field: signer,
                message: "'\(signer)' is not this node or a peer in node.yaml, so its signature cannot be checked",
                hint: "add it under peers: in \(home.nodeConfig) with its key")
        }
    }
}
