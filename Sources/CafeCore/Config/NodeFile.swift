/// How to reach a peer by the SCP drop-box transport: OpenSSH `scp` into the peer's `dropbox/`.
public struct ScpTarget: Sendable, Hashable {
    /// `user@host:/path/to/dropbox`
    public var target: String
    public var port: Int
    /// Private key file for `scp -i`.
    public var identity: String?
    /// Extra arguments for `scp` (such as `-o UserKnownHostsFile=…`), passed as argv.
    public var options: [String]

    public init(target: String, port: Int = 22, identity: String? = nil, options: [String] = []) {
        self.target = target
        self.port = port
        self.identity = identity
        self.options = options
    }
}

/// A TCP endpoint, written `HOST:PORT` or `[IPV6]:PORT`.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` or `[IPV6]:PORT`.
    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            return nil
        }
        guard !host.isEmpty, !host.contains(" ") else { return nil }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// How this node reaches a peer.
public enum PeerRoute: Sendable, Hashable {
    /// Directly over TCP.
    case address(HostPort)
    /// Through another peer, which forwards envelopes.
    case via(String)
    /// By copying envelope files into its drop-box.
    case scp(ScpTarget)
}

/// A node this node knows: how to reach it and the public key its envelopes are checked with.
public struct Peer: Sendable, Hashable {
    public var name: String
    public var route: PeerRoute
    /// `ed25519:BASE64`, as `cafe key show` prints it; nil when the peer proves its key with a
    /// certificate of one of the node's `fleets:`. A pinned key wins over a certificate.
    public var key: String?
    /// `tags: [web, eu]`: what `tag:T` selectors in delivery.yaml match (with the tags of the
    /// peer's fleet certificate, once seen).
    public var tags: [String]

    public init(name: String, route: PeerRoute, key: String?, tags: [String] = []) {
        self.name = name
        self.route = route
        self.key = key
        self.tags = tags
    }
}

/// This node's `node.yaml`: its name, where it listens, and the peers it knows.
///
/// ```yaml
/// name: jlore
/// listen: 127.0.0.1:7401
/// peers:
///   monk1:    {address: 127.0.0.1:7402, key: "ed25519:BASE64"}
///   cluster1: {via: monk1, key: "ed25519:BASE64"}
///   web01:    {address: 10.0.0.7:7400, tags: [web]}  # no key: proven by an acme certificate
/// fleets:
///   acme: "ed25519:BASE64"
/// metrics: 127.0.0.1:9400                         # optional: Prometheus text at GET /metrics
/// ```
public struct NodeFile: Sendable, Hashable {
    public var name: String
    /// Where to accept peer connections; nil for a node that only connects out.
    public var listen: HostPort?
    public var peers: [String: Peer]
    /// Fleet name → fleet public key (`ed25519:BASE64`): certificates these keys signed prove
    /// a node's key (see `cafe fleet`).
    public var fleets: [String: String]
    /// Where to serve Prometheus metrics (`GET /metrics`); nil (the default): not served.
    public var metrics: HostPort?
    /// Settings with defaults, see ``NodeSettings``.
    public var settings: NodeSettings

    public init(
        name: String, listen: HostPort? = nil, peers: [String: Peer] = [:], fleets: [String: String] = [:],
        settings: NodeSettings = NodeSettings()
    ) {
        self.name = name
        self.listen = listen
        self.peers = peers
        self.fleets = fleets
        self.settings = settings
    }

    /// Reads `node.yaml`.
    public init(yaml bytes: some Collection<UInt8>, source: String) throws {
        let root = try YAMLReader.document(bytes, limits: .config, source: source)
        let mapping = try root.mapping(allowed: ["name", "listen", "peers", "fleets", "metrics", "settings"])
        let nameReader = try mapping.required("name")
        let name = try nameReader.string()
        guard Names.isValidNode(name) else {
            throw nameReader.error("'\(name)' is not a valid node name (letters, digits, _ . -; at most 63)")
        }
        self.init(name: name)
        if let listen = mapping.optional("listen") {
            self.listen = try Self.hostPort(listen)
        }
        if let settings = mapping.optional("settings") {
            self.settings = try NodeSettings(settings)
        }
        if let metrics = mapping.optional("metrics") {
            self.metrics = try Self.hostPort(metrics)
        }
        if let fleetsReader = mapping.optional("fleets"), !fleetsReader.isNull {
            for (fleet, mark, value) in try fleetsReader.mapping().readers {
                guard Names.isValidNode(fleet) else {
                    throw InputError(
                        source: source, line: mark.line, column: mark.column, field: "fleets.\(fleet)",
                        message: "'\(fleet)' is not a valid fleet name")
                }
                let key = try value.string()
                guard PublicKeyText.isValid(key) else {
                    throw value.error("is not a public key", hint: "expected ed25519: and 44 base64 characters, as `cafe fleet init` prints")
                }
                fleets[fleet] = key
            }
        }
        if let peersReader = mapping.optional("peers"), !peersReader.isNull {
            for (peerName, mark, value) in try peersReader.mapping().readers {
                guard Names.isValidNode(peerName) else {
                    throw InputError(
                        source: source, line: mark.line, column: mark.column, field: "peers.\(peerName)",
                        message: "'\(peerName)' is not a valid node name")
                }
                guard peerName != name else {
                    throw InputError(
                        source: source, line: mark.line, column: mark.column, field: "peers.\(peerName)",
                        message: "a node cannot list itself as a peer")
                }
                peers[peerName] = try Self.peer(peerName, value, fleets: !fleets.isEmpty)
            }
        }
        try checkRoutes(source: source)
    }

    private static func peer(_ name: String, _ reader: YAMLReader, fleets: Bool) throws -> Peer {
        let mapping = try reader.mapping(allowed: ["address", "via", "scp", "key", "tags"])
        var key: String?
        if let keyReader = mapping.optional("key") {
            let text = try keyReader.string()
            guard PublicKeyText.isValid(text) else {
                throw keyReader.error(
                    "is not a public key", hint: "expected ed25519: and 44 base64 characters, as `cafe key show` prints")
            }
            key = text
        } else if !fleets {
            throw reader.error(
                "missing required key 'key'", hint: "paste the line `cafe key show` prints on \(name), or list its fleet under fleets: so its certificate proves its key")
        }
        let routes = ["address", "via", "scp"].compactMap { mapping.optional($0) }
        guard routes.count == 1 else {
            throw reader.error("needs exactly one of address, via or scp (has \(routes.count))")
        }
        let route: PeerRoute
        if let address = mapping.optional("address") {
            route = .address(try hostPort(address))
        } else if let via = mapping.optional("via") {
            let relay = try via.string()
            guard Names.isValidNode(relay) else { throw via.error("'\(relay)' is not a valid node name") }
            route = .via(relay)
        } else {
            route = .scp(try scpTarget(try mapping.required("scp")))
        }
        var tags: [String] = []
        if let tagsReader = mapping.optional("tags") {
            tags = try tagsReader.stringList()
            for tag in tags where !Names.isValidNode(tag) { throw tagsReader.error("'\(tag)' is not a tag (letters, digits, _ . -)") }
        }
        return Peer(name: name, route: route, key: key, tags: tags)
    }

    private static func scpTarget(_ reader: YAMLReader) throws -> ScpTarget {
        let mapping = try reader.mapping(allowed: ["target", "port", "identity", "options"])
        let targetReader = try mapping.required("target")
        let target = try targetReader.nonEmptyString()
        guard target.contains(":"), !target.hasPrefix("-") else {
            throw targetReader.error("expected user@host:/path/to/dropbox")
        }
        var result = ScpTarget(target: target)
        if let port = mapping.optional("port") {
            result.port = try port.int()
            guard (1...65535).contains(result.port) else { throw port.error("must be between 1 and 65535") }
        }
        result.identity = try mapping.optional("identity")?.nonEmptyString()
        result.options = try mapping.optional("options")?.stringList() ?? []
        return result
    }

    static func hostPort(_ reader: YAMLReader) throws -> HostPort {
        let text = try reader.string()
        guard let parsed = HostPort(text) else {
            throw reader.error("'\(text)' is not HOST:PORT", hint: "for example 127.0.0.1:7401 or [::1]:7401")
        }
        return parsed
    }

    /// Every `via` chain must end at a directly reachable peer, without loops.
    private func checkRoutes(source: String) throws {
        for peer in peers.values.sorted(by: { $0.name < $1.name }) {
            var seen: Set<String> = [peer.name]
            var current = peer
            while case .via(let relay) = current.route {
                guard let next = peers[relay] else {
                    throw InputError(
                        source: source, field: "peers.\(current.name).via",
                        message: "names '\(relay)', which is not a peer in this file")
                }
                guard seen.insert(relay).inserted else {
                    throw InputError(
                        source: source, field: "peers.\(peer.name).via",
                        message: "the via chain loops: " + seen.sorted().joined(separator: ", "))
                }
                current = next
            }
        }
    }
}

/// The syntax of a public key as it appears in `node.yaml`: `ed25519:` and the base64 of
/// 32 bytes (44 characters ending in `=`).
public enum PublicKeyText {
    public static let prefix = "ed25519:"

    public static func isValid(_ text: String) -> Bool {
        guard text.hasPrefix(prefix) else { return false }
        let body = Array(text.utf8.dropFirst(prefix.utf8.count))
        guard body.count == 44, body[43] == UInt8(ascii: "=") else { return false }
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        guard body[0..<43].allSatisfy(alphabet.contains) else { return false }
        // The last character before the padding carries 4 bits; its 2 low bits must be zero.
        return Set("AEIMQUYcgkosw048".utf8).contains(body[42])
    }
}
