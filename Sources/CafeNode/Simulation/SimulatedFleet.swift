import CafeCore
import CafeCrypto
import Glibc

/// The nodes of one simulation, drawn from its seed: one or two origins, hosts (some that deny
/// the origin, by their trust.yaml), and, in larger fleets, a gateway that fans the request out
/// to its own hosts and a relay that carries envelopes to hosts the origins cannot reach. Each
/// node has real keys (from the seed), real config files parsed by the real loader, and so a
/// real ``NodeIdentity``.
struct SimulatedFleet: Sendable {
    var identities: [String: NodeIdentity] = [:]
    var origins: [String] = []
    var hosts: [String] = []
    var gateway: String?
    var leaves: [String] = []
    var relay: String?
    /// Hosts whose trust.yaml does not allow the request: their answer is `denied`.
    var denying: Set<String> = []

    var names: [String] { identities.keys.sorted() }

    /// The request every simulated batch runs, and the group check some groups have.
    static let request = "deploy"
    static let check = "health"

    /// A fleet of `count` nodes (at least 3) drawn with `random`, its config written under
    /// `directory` and read back.
    init(count: Int, random: SeededRandomSource, directory: String) throws {
        let count = max(3, count)
        func chance(_ p: Double) -> Bool { Double(random.next() % 10_000) < p * 10_000 }
        origins = count >= 8 && chance(0.5) ? ["o1", "o2"] : ["o1"]
        var rest = count - origins.count
        if rest >= 5 && chance(0.6) {
            gateway = "g1"
            let below = 2 + Int(random.next() % UInt64(min(4, rest - 3)))
            leaves = (1...below).map { "l\($0)" }
            rest -= 1 + below
        }
        if rest >= 3 && chance(0.5) {
            relay = "r1"
            rest -= 1
        }
        hosts = (1...max(1, rest)).map { "h\($0)" }
        // Hosts behind the relay: the origins reach them only through it.
        let relayed = Set(relay == nil ? [] : hosts.filter { _ in chance(0.4) })
        denying = Set((hosts + leaves).filter { _ in chance(0.1) })
        let all = origins + hosts + leaves + [gateway, relay].compactMap { $0 }
        var keys: [String: SigningKey] = [:]
        for name in all { keys[name] = try SigningKey(seed: random.bytes(32)) }
        var port = 20_000
        var ports: [String: Int] = [:]
        for name in all {
            port += 1
            ports[name] = port
        }
        func peer(_ name: String, via: String? = nil) -> String {
            let route = via.map { "via: \($0)" } ?? "address: \"127.0.0.1:\(ports[name]!)\""
            return "  \(name): {\(route), key: \"\(keys[name]!.publicKey.text)\"}"
        }
        var files: [String: [String: String]] = [:]
        for origin in origins {
            var peers = hosts.map { relayed.contains($0) ? peer($0, via: relay) : peer($0) }
            if let relay { peers.append(peer(relay)) }
            if let gateway { peers.append(peer(gateway)) }
            peers += origins.filter { $0 != origin }.map { peer($0) }
            var groups = hosts
            if let gateway { groups.append(gateway) }
            files[origin] = [
                "node.yaml": "name: \(origin)\npeers:\n" + peers.joined(separator: "\n") + "\n",
                "delivery.yaml": Self.request + ":\n" + Self.groups(groups, random: random, chance: chance),
                "trust.yaml": "{}\n", "commands.yaml": "{}\n",
            ]
        }
        let hostCommands = "\(Self.request):\n  - \"true\"\n\(Self.check):\n  - \"true\"\n"
        for host in hosts {
            let origin = origins.map { relayed.contains(host) ? peer($0, via: relay) : peer($0) }
            let grants = denying.contains(host) ? "[\(Self.check)]" : "[\(Self.request), \(Self.check)]"
            files[host] = [
                "node.yaml": "name: \(host)\npeers:\n" + (origin + (relayed.contains(host) ? [peer(relay!)] : [])).joined(separator: "\n") + "\n",
                "trust.yaml": origins.map { "\($0): {requests: \(grants)}\n" }.joined(),
                "commands.yaml": hostCommands, "delivery.yaml": "{}\n",
            ]
        }
        if let relay {
            files[relay] = [
                "node.yaml": "name: \(relay)\npeers:\n" + (origins.map { peer($0) } + hosts.filter(relayed.contains).map { peer($0) }).joined(separator: "\n") + "\n",
                "trust.yaml": origins.map { "\($0): {relay: true}\n" }.joined(), "commands.yaml": "{}\n", "delivery.yaml": "{}\n",
            ]
        }
        if let gateway {
            files[gateway] = [
                "node.yaml": "name: \(gateway)\npeers:\n" + (origins.map { peer($0) } + leaves.map { peer($0) }).joined(separator: "\n") + "\n",
                "trust.yaml": origins.map { "\($0): {relay: true, requests: [\(Self.check)]}\n" }.joined(),
                "commands.yaml": "\(Self.check):\n  - \"true\"\n",
                "delivery.yaml": Self.request + ":\n" + Self.groups(leaves, random: random, chance: chance),
            ]
            for leaf in leaves {
                let grants = denying.contains(leaf) ? "[\(Self.check)]" : "[\(Self.request)]"
                files[leaf] = [
                    "node.yaml": "name: \(leaf)\npeers:\n" + (origins.map { peer($0) } + [peer(gateway)]).joined(separator: "\n") + "\n",
                    "trust.yaml": origins.map { "\($0): {requests: \(grants)}\n" }.joined() + "\(gateway): {requests: [\(Self.check)]}\n",
                    "commands.yaml": hostCommands, "delivery.yaml": "{}\n",
                ]
            }
        }
        for name in all {
            let home = NodeHome(directory + "/" + name)
            try home.createLayout()
            try KeyFiles.write(keys[name]!, name: name, to: home.privateKey, publicPath: home.publicKey, what: "node")
            for (file, text) in files[name] ?? [:] {
                try FileSystem.writeAtomically(Array(text.utf8), to: home.root + "/config/" + file)
            }
            identities[name] = try NodeIdentity.load(home: home)
        }
    }

    /// `hosts` in one to three groups, some with a window, a failure budget, a pause or a check.
    static func groups(_ hosts: [String], random: SeededRandomSource, chance: (Double) -> Bool) -> String {
        let count = min(hosts.count, 1 + Int(random.next() % 3))
        var text = ""
        for index in 0..<count {
            let part = stride(from: index, to: hosts.count, by: count).map { hosts[$0] }
            var rules: [String] = []
            if chance(0.3) { rules.append("batch: \(1 + random.next() % 2)") }
            if chance(0.3) { rules.append("max-failures: \(random.next() % 2)") }
            if chance(0.2) { rules.append("pause: 2s") }
            if chance(0.2) { rules.append("check: \(check)") }
            text += "  - hosts: [\(part.joined(separator: ", "))]\n" + rules.map { "    \($0)\n" }.joined()
        }
        return text
    }
}
