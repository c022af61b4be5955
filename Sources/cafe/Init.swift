import ArgumentParser
import CafeCore
import CafeCrypto

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a node home with a fresh Ed25519 key pair. Never overwrites anything.")

    @OptionGroup var options: HomeOption

    @Option(help: "The node's name (letters, digits, _ . -).")
    var name: String

    @Option(help: ArgumentHelp("Where cafe-node accepts peer connections.", valueName: "HOST:PORT"))
    var listen: String?

    func validate() throws {
        guard Names.isValidNode(name) else {
            throw ValidationError("'\(name)' is not a valid node name (letters, digits, _ . -; at most 63 characters)")
        }
        if let listen, HostPort(listen) == nil {
            throw ValidationError("--listen '\(listen)' is not HOST:PORT")
        }
    }

    func run() async throws {
        let home = options.nodeHome
        for path in [home.nodeConfig, home.privateKey, home.publicKey] where FileSystem.exists(path) {
            throw InputError(source: path, message: "already exists", hint: "cafe init never overwrites a home; choose another --home")
        }
        try home.createLayout()
        let key = try KeyFiles.create(name: name, in: home)
        try FileSystem.writeAtomically(Array(ConfigTemplates.node(name: name, listen: listen).utf8), to: home.nodeConfig)
        for (path, text) in [
            (home.deliveryConfig, ConfigTemplates.delivery), (home.commandsConfig, ConfigTemplates.commands),
            (home.trustConfig, ConfigTemplates.trust),
        ] where !FileSystem.exists(path) {
            try FileSystem.writeAtomically(Array(text.utf8), to: path)
        }
        note("created node \(name) in \(home.root) (key \(key.publicKey.fingerprint))")
        print(KeyFiles.publicLine(name: name, key: key.publicKey), terminator: "")
    }
}

/// The starting config files `cafe init` writes.
enum ConfigTemplates {
    static func node(name: String, listen: String?) -> String {
        """
        # node.yaml: this node and the peers it knows. Reference: docs/configuration.md
        name: \(name)
        \(listen.map { "listen: \($0)" } ?? "# listen: 127.0.0.1:7401      # where cafe-node accepts peers")
        peers: {}
        # peers:
        #   monk1:    {address: 127.0.0.1:7402, key: "ed25519:..."}   # `cafe key show` on monk1
        #   cluster1: {via: monk1, key: "ed25519:..."}                # reached through monk1

        """
    }

    static let delivery = """
        # delivery.yaml: request name -> groups of hosts. Groups run in order; the hosts of a
        # group at the same time; a group starts only if every host of the previous one succeeded.
        # activate_dialup:
        #   - [jlore, monk1, cluster1]
        #   - [backup1]

        """

    static let commands = """
        # commands.yaml: request name -> commands this host runs for it, in order.
        # A string runs under /bin/sh -c; a list is argv (no shell) where {{key}} takes request data.
        # activate_dialup:
        #   - /usr/bin/blahh
        #   - ["/usr/sbin/useradd", "-m", "--", "{{username:operand}}"]

        """

    static let trust = """
        # trust.yaml: signer -> what it may ask of this node. Anyone not listed may do nothing.
        # jlore: {requests: ["activate_dialup", "mail_*"], adhoc: false, relay: true}

        """
}
