/// The origin's `delivery.yaml`: request name → groups of hosts. Groups run one after another;
/// the hosts of a group at the same time (or `batch:` at a time); a group starts only when the
/// group before it succeeded (every host, or all but `max-failures:`, and its `check:`), after
/// its `pause:`. See ``HostGroup`` for the rules and docs/rollouts.md for a guide.
///
/// ```yaml
/// activate_dialup:
///   - [jlore, monk1, cluster1]
///   - [backup1]
/// deploy_web:
///   - [canary1]
///   - hosts: ["tag:web"]
///     batch: 25%
///     max-failures: 10%
///     pause: 30s
///     check: web_health
/// ```
public struct DeliveryMap: Sendable, Hashable {
    public var entries: [String: [HostGroup]]
    /// Where each entry's hosts were written, for errors found when the map is checked
    /// against node.yaml.
    public var marks: [String: YAMLMark]

    public init(entries: [String: [HostGroup]] = [:]) {
        self.entries = entries
        self.marks = [:]
    }

    /// The groups for `request` (selectors not resolved), or nil when the map has no entry for it.
    public func groups(for request: String) -> [HostGroup]? { entries[request] }

    /// Reads `delivery.yaml`.
    public init(yaml bytes: some Collection<UInt8>, source: String) throws {
        self.init()
        guard let root = try YAMLParser.parse(bytes, limits: .config, source: source) else { return }
        let mapping = try YAMLReader(node: root, source: source).mapping()
        for (name, value) in try mapping.requestEntries() {
            entries[name] = try HostGroup.groups(value, selectors: true)
            marks[name] = value.node.mark
        }
    }
}
