import ArgumentParser
import CafeCore
import CafeCrypto
import CafeNode
import Glibc

/// Edits one config file of a home: the new text is checked together with the other files
/// (as a reload would check it) before it atomically replaces the old one; comments and
/// everything not edited stay as written.
func editConfig(_ path: String, home: NodeHome, _ edit: (String) throws -> String) throws {
    let old = FileSystem.exists(path) ? String(decoding: try FileSystem.read(path, maxBytes: YAMLLimits.config.maxBytes), as: UTF8.self) : ""
    let new = Array(try edit(old).utf8)
    if case .failure(let problems) = NodeConfiguration.check(home: home, replacing: [path: new]) {
        throw ConfigurationProblems(errors: problems.errors + [InputError(source: path, message: "left unchanged: the edit would not be valid")])
    }
    // The file keeps its mode, and a link to it stays a link: the file it points to is replaced.
    var target = path
    if let resolved = realpath(path, nil) {
        target = String(cString: resolved)
        free(resolved)
    }
    var info = stat()
    let mode = stat(target, &info) == 0 ? info.st_mode & 0o777 : 0o644
    try FileSystem.writeAtomically(new, to: target, mode: mode)
    note("\(path) updated; a running node applies it on `cafe reload --home \(home.root)` (or SIGHUP)")
}

struct PeerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peer", abstract: "List, add or remove the peers in node.yaml.", subcommands: [Add.self, List.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Add a peer to node.yaml: how to reach it and its key (`cafe key show` on that node prints it).",
            discussion: """
                Exactly one of --address, --via or --scp. --key may be left out when node.yaml lists fleets: (the peer \
                then proves its key with a fleet certificate). The file is checked before it is replaced; comments are kept.
                """)

        @OptionGroup var options: HomeOption
        @Argument(help: "The peer's node name.") var name: String
        @Option(help: ArgumentHelp("Reach it directly over TCP.", valueName: "HOST:PORT")) var address: String?
        @Option(help: ArgumentHelp("Reach it through this peer (a relay).", valueName: "NAME")) var via: String?
        @Option(help: ArgumentHelp("Reach it by copying files into its drop-box.", valueName: "USER@HOST:/DIR")) var scp: String?
        @Option(help: "SSH port for --scp.") var scpPort = 22
        @Option(help: ArgumentHelp("SSH private key file for --scp.", valueName: "FILE")) var scpIdentity: String?
        @Option(help: ArgumentHelp("One more scp/sftp argument for --scp (repeat for more).", valueName: "ARG")) var scpOption: [String] = []
        @Option(help: ArgumentHelp(
            "The peer's public key, or the whole line `cafe key show` prints on the peer (NAME ed25519:BASE64).",
            valueName: "ed25519:BASE64")) var key: String?

        /// The key alone; a `NAME KEY` line must name this peer.
        var keyText: String? {
            get throws {
                guard let key else { return nil }
                let parts = key.split(separator: " ").map(String.init)
                if parts.count == 2 {
                    guard parts[0] == name else { throw ValidationError("--key is the key of '\(parts[0])', not of '\(name)'") }
                    return parts[1]
                }
                return key
            }
        }

        func validate() throws {
            guard [address, via, scp].compactMap({ $0 }).count == 1 else { throw ValidationError("give exactly one of --address, --via or --scp") }
            guard Names.isValidNode(name) else { throw ValidationError("'\(name)' is not a valid node name") }
            if let text = try keyText, !PublicKeyText.isValid(text) {
                throw ValidationError("--key '\(key ?? "")' is not a public key (ed25519: and 44 base64 characters)")
            }
        }

        func run() async throws {
            let home = options.nodeHome
            var route: String
            if let address {
                route = "address: \(YAMLEmitter.doubleQuoted(address))"
            } else if let via {
                route = "via: \(YAMLEmitter.doubleQuoted(via))"
            } else {
                var fields = ["target: \(YAMLEmitter.doubleQuoted(scp ?? ""))", "port: \(scpPort)"]
                if let scpIdentity { fields.append("identity: \(YAMLEmitter.doubleQuoted(scpIdentity))") }
                if !scpOption.isEmpty { fields.append("options: [" + scpOption.map(YAMLEmitter.doubleQuoted).joined(separator: ", ") + "]") }
                route = "scp: {" + fields.joined(separator: ", ") + "}"
            }
            try editConfig(home.nodeConfig, home: home) { text in
                if let peers = try? NodeFile(yaml: Array(text.utf8), source: home.nodeConfig).peers, peers[name] != nil {
                    throw InputError(source: home.nodeConfig, field: "peers.\(name)", message: "is already a peer", hint: "remove it first with `cafe peer remove \(name)`")
                }
                let key = try keyText.map { ", key: \(YAMLEmitter.doubleQuoted($0))" } ?? ""
                return try ConfigEditor.add("\(name): {\(route)\(key)}", under: "peers", in: text, source: home.nodeConfig)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the peers of node.yaml: name, route, key fingerprint.")

        @OptionGroup var options: HomeOption

        func run() async throws {
            let home = options.nodeHome
            let node = try NodeFile(yaml: FileSystem.read(home.nodeConfig, maxBytes: YAMLLimits.config.maxBytes), source: home.nodeConfig)
            var rows = [["PEER", "ROUTE", "KEY"]]
            for peer in node.peers.values.sorted(by: { $0.name < $1.name }) {
                let route: String
                switch peer.route {
                case .address(let address): route = "address \(address)"
                case .via(let relay): route = "via \(relay)"
                case .scp(let target): route = "scp \(target.target) port \(target.port)"
                }
                rows.append([peer.name, route, peer.key.map { (try? PublicKey(text: $0).fingerprint) ?? $0 } ?? "(fleet certificate)"])
            }
            print(rows.count == 1 ? "no peers" : BatchReport.render(rows).joined(separator: "\n"))
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove",
            abstract: "Remove a peer from node.yaml.",
            discussion: "Refused (exit 2, nothing changed) while delivery.yaml or trust.yaml still name it.")

        @OptionGroup var options: HomeOption
        @Argument(help: "The peer's node name.") var name: String

        func run() async throws {
            let home = options.nodeHome
            try editConfig(home.nodeConfig, home: home) { try ConfigEditor.remove(name, under: "peers", in: $0, source: home.nodeConfig) }
        }
    }
}

struct TrustCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust", abstract: "Grant a signer requests in trust.yaml.", subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Let NAME ask this node for requests (names or globs), and optionally ad-hoc commands or relaying.",
            discussion: "NAME must be this node or a peer in node.yaml. The file is checked before it is replaced; comments are kept.")

        @OptionGroup var options: HomeOption
        @Argument(help: "The signer's node name.") var name: String
        @Option(help: ArgumentHelp("Request names or globs, comma-separated.", valueName: "A,B")) var requests: String = ""
        @Flag(help: "Allow ad-hoc commands (cafe run --on).") var adhoc = false
        @Flag(help: "Relay its envelopes and fan its requests out by this node's delivery map.") var relay = false

        func validate() throws {
            guard Names.isValidNode(name) else { throw ValidationError("'\(name)' is not a valid node name") }
        }

        func run() async throws {
            let home = options.nodeHome
            let names = requests.split(separator: ",").map { String($0).trimmingSpaces }.filter { !$0.isEmpty }
            var fields = ["requests: [" + names.map(YAMLEmitter.doubleQuoted).joined(separator: ", ") + "]"]
            if adhoc { fields.append("adhoc: true") }
            if relay { fields.append("relay: true") }
            try editConfig(home.trustConfig, home: home) { text in
                if let rules = try? TrustConfig(yaml: Array(text.utf8), source: home.trustConfig).rules, rules[name] != nil {
                    throw InputError(source: home.trustConfig, field: name, message: "already has an entry", hint: "edit it in the file")
                }
                return try ConfigEditor.add("\(name): {" + fields.joined(separator: ", ") + "}", under: nil, in: text, source: home.trustConfig)
            }
        }
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
