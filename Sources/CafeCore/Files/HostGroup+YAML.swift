/// A group of hosts: a list of hosts (`[web1, web2]`) when it has no rules, otherwise a mapping
/// with `hosts:` and the rules (`batch`, `max-failures`, `pause`, `check`). The same coder reads
/// delivery.yaml, batch files, batch plans, executed files and a forwarding host's `leaf-groups:`.
extension HostGroup: YAMLCodable {
    /// The keys of a group written as a mapping.
    public static let yamlKeys = ["hosts", "batch", "max-failures", "pause", "check"]

    /// Reads a group of host names (what batch files, plans, executed files and results hold).
    public init(_ reader: YAMLReader) throws {
        try self.init(reader, selectors: false)
    }

    /// Reads a group; `tag:T` selectors are accepted only where `selectors` is true
    /// (delivery.yaml, before they are resolved to names).
    public init(_ reader: YAMLReader, selectors: Bool) throws {
        let hostsReader: YAMLReader
        if case .mapping = reader.node {
            let mapping = try reader.mapping(allowed: Self.yamlKeys)
            hostsReader = try mapping.required("hosts")
            self.init([])
            batch = try mapping.optional("batch").map { try Self.share($0, minimum: 1) }
            maxFailures = try mapping.optional("max-failures").map { try Self.share($0, minimum: 0) }
            if let pauseReader = mapping.optional("pause") {
                let seconds = try pauseReader.duration()
                guard seconds <= NodeSettings.maxExpiry else { throw pauseReader.error("must be at most 30 days (requests expire by then)") }
                pause = seconds
            }
            check = try mapping.optional("check")?.requestName()
        } else {
            hostsReader = reader
            self.init([])
        }
        hosts = try hostsReader.stringList()
        guard !hosts.isEmpty else { throw hostsReader.error("is an empty group") }
        for host in hosts {
            if host.hasPrefix(Self.tagPrefix) {
                guard selectors else { throw hostsReader.error("'\(host)' is a selector; only host names belong here") }
                guard Names.isValidNode(String(host.dropFirst(Self.tagPrefix.count))) else {
                    throw hostsReader.error("'\(host)' is not a valid selector", hint: "write tag:NAME, NAME in letters, digits, _ . -")
                }
            } else if !Names.isValidNode(host) {
                throw hostsReader.error("'\(host)' is not a valid host name")
            }
        }
    }

    /// The list of hosts for a plain group, the mapping otherwise.
    public var yamlValue: YAMLValue {
        guard !isPlain else { return .strings(hosts) }
        var pairs = [YAMLPair("hosts", .strings(hosts))]
        if let batch { pairs.append(YAMLPair("batch", .string(batch.description))) }
        if let maxFailures { pairs.append(YAMLPair("max-failures", .string(maxFailures.description))) }
        if let pause { pairs.append(YAMLPair("pause", .seconds(pause))) }
        if let check { pairs.append(YAMLPair("check", .string(check))) }
        return .map(pairs)
    }

    /// Reads delivery.yaml's list of groups for one request: at least one group, selectors
    /// allowed when `selectors` is true, each host at most once across them.
    public static func groups(_ reader: YAMLReader, selectors: Bool) throws -> [HostGroup] {
        let items = try reader.sequence()
        guard !items.isEmpty else { throw reader.error("lists no groups of hosts") }
        var seen = Set<String>()
        return try items.map { item in
            let group = try HostGroup(item, selectors: selectors)
            for host in group.hosts where !seen.insert(host).inserted {
                throw item.error("lists host '\(host)' more than once for this request")
            }
            return group
        }
    }

    /// `3` or `25%`: at least `minimum` hosts, a share from 0 (exclusive for a window) to 100%.
    static func share(_ reader: YAMLReader, minimum: Int) throws -> Share {
        let text = try reader.string()
        if text.hasSuffix("%") {
            guard let percent = Double(text.dropLast()), percent.isFinite, minimum > 0 ? percent > 0 : percent >= 0, percent <= 100 else {
                throw reader.error("'\(text)' is not a share of hosts", hint: minimum > 0 ? "write a percentage above 0% and at most 100%" : "write a percentage from 0% to 100%")
            }
            return .percent(percent)
        }
        guard let count = Int(text), count >= minimum else {
            throw reader.error("'\(text)' is not a number of hosts", hint: "write a whole number of at least \(minimum), or a percentage such as 25%")
        }
        return .count(count)
    }
}
