/// What one signer may ask of this node.
public struct TrustRule: Sendable, Hashable {
    /// Request names or globs (`*` any run of characters, `?` one character) it may send.
    public var requests: [String]
    /// Whether it may send ad-hoc commands (`cafe run --on`).
    public var adhoc: Bool
    /// Whether this node forwards its envelopes to others and fans its requests out.
    public var relay: Bool

    public init(requests: [String] = [], adhoc: Bool = false, relay: Bool = false) {
        self.requests = requests
        self.adhoc = adhoc
        self.relay = relay
    }
}

/// This node's `trust.yaml`: signer name or `tag:T` → ``TrustRule``. A signer that is not
/// listed, by name or by a tag its fleet certificate carries, may do nothing (default deny).
///
/// ```yaml
/// jlore: {requests: ["activate_dialup", "mail_*"], adhoc: false, relay: true}
/// "tag:ops": {requests: ["restart_*"]}     # any node certified with tag ops by a fleet of node.yaml
/// ```
public struct TrustConfig: Sendable, Hashable {
    /// Grants to every node certified with a tag: `tag:ops`.
    public static let tagPrefix = "tag:"

    public var rules: [String: TrustRule]
    public var marks: [String: YAMLMark]

    public init(rules: [String: TrustRule] = [:]) {
        self.rules = rules
        self.marks = [:]
    }

    /// Reads `trust.yaml`.
    public init(yaml bytes: some Collection<UInt8>, source: String) throws {
        self.init()
        guard let root = try YAMLParser.parse(bytes, limits: .config, source: source) else { return }
        for (signer, mark, value) in try YAMLReader(node: root, source: source).mapping().readers {
            let isTag = signer.hasPrefix(Self.tagPrefix)
            guard Names.isValidNode(isTag ? String(signer.dropFirst(Self.tagPrefix.count)) : signer) else {
                throw InputError(
                    source: source, line: mark.line, column: mark.column, field: signer,
                    message: isTag ? "'\(signer)' is not tag: and a valid tag" : "'\(signer)' is not a valid node name or tag:T")
            }
            let mapping = try value.mapping(allowed: ["requests", "adhoc", "relay"])
            var rule = TrustRule()
            if let requests = mapping.optional("requests") {
                rule.requests = try requests.stringList()
                for pattern in rule.requests where !Self.isValidPattern(pattern) {
                    throw requests.error("'\(pattern)' is not a request name or glob (letters, digits, _ . - * ?)")
                }
            }
            rule.adhoc = try mapping.optional("adhoc")?.bool() ?? false
            rule.relay = try mapping.optional("relay")?.bool() ?? false
            rules[signer] = rule
            marks[signer] = mark
        }
    }

    static func isValidPattern(_ pattern: String) -> Bool {
        !pattern.isEmpty && pattern.utf8.count <= 128
            && pattern.unicodeScalars.allSatisfy {
                ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "_.-*?".unicodeScalars.contains($0)
            }
    }
}
