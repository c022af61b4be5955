/// The origin's `delivery.yaml`: request name → groups of hosts. Groups run one after another;
/// the hosts of a group at the same time; a group starts only when every host of the group
/// before it succeeded.
///
/// ```yaml
/// activate_dialup:
///   - [jlore, monk1, cluster1]
///   - [backup1]
/// ```
public struct DeliveryMap: Sendable, Hashable {
    public var entries: [String: [[String]]]
    /// Where each entry's hosts were written, for errors found when the map is checked
    /// against node.yaml.
    public var marks: [String: YAMLMark]

    public init(entries: [String: [[String]]] = [:]) {
        self.entries = entries
        self.marks = [:]
    }

    /// The groups for `request`, or nil when the map has no entry for it.
    public func groups(for request: String) -> [[String]]? { entries[request] }

    /// Reads `delivery.yaml`.
    public init(yaml bytes: some Collection<UInt8>, source: String) throws {
        self.init()
        guard let root = try YAMLParser.parse(bytes, limits: .config, source: source) else { return }
        for (name, mark, value) in try YAMLReader(node: root, source: source).mapping().readers {
            guard Names.isValidRequest(name) else {
                throw InputError(
                    source: source, line: mark.line, column: mark.column, field: name,
                    message: "'\(name)' is not a valid request name (letters, digits, _ . -)")
            }
            let groupReaders = try value.sequence()
            guard !groupReaders.isEmpty else { throw value.error("lists no groups of hosts") }
            var seen = Set<String>()
            var groups: [[String]] = []
            for groupReader in groupReaders {
                let hosts = try groupReader.stringList()
                guard !hosts.isEmpty else { throw groupReader.error("is an empty group") }
                for host in hosts {
                    guard Names.isValidNode(host) else {
                        throw groupReader.error("'\(host)' is not a valid host name")
                    }
                    guard seen.insert(host).inserted else {
                        throw groupReader.error("lists host '\(host)' more than once for this request")
                    }
                }
                groups.append(hosts)
            }
            entries[name] = groups
            marks[name] = value.node.mark
        }
    }
}
