import ArgumentParser
import CafeCore
import CafeCrypto
import CafeNode
import CafeWire

struct Key: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Work with the node's key.", subcommands: [Show.self, Rotate.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Print the public key line `NAME ed25519:BASE64` for peers' node.yaml.")

        @OptionGroup var options: HomeOption

        func run() async throws {
            let parsed = try KeyFiles.loadPublicKey(from: options.nodeHome)
            print(KeyFiles.publicLine(name: parsed.name, key: parsed.key), terminator: "")
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate",
            abstract: "Replace the node's key pair; keep the old one in keys/history/ with a transition it signs.",
            discussion: """
                Run it while the node is stopped. Peers that pinned the old key accept the new one at the next \
                handshake (the old key signed the transition) and record it; files signed before the rotation still \
                verify. A fleet certificate names the old key: it moves to keys/history/, and the node needs a new \
                one (`cafe fleet sign` with the key this prints).
                """)

        @OptionGroup var options: HomeOption

        func run() async throws {
            let home = options.nodeHome
            let lock = try HomeLock(path: home.runDirectory + "/node.lock")
            defer { lock.release() }
            let (name, _) = try KeyFiles.loadPublicKey(from: home)
            let old = try KeyFiles.loadPrivateKey(from: home, name: name)
            let new = try SigningKey.generate()
            let now = SystemClock().now()
            let transition = KeyTransition(name: name, oldKey: old, new: new.publicKey, at: now)
            let stem = home.keyHistory + "/" + now.compact
            try FileSystem.makeDirectory(home.keyHistory)
            // The old key and the transition first, then the new key, each durably: a crash in
            // between leaves a home whose start names what to finish (HomeKeys.load).
            try KeyFiles.write(old, name: name, to: stem + ".key", publicPath: stem + ".pub", what: "node (retired)")
            var moved: [String] = []
            if FileSystem.exists(home.certificate) {
                try FileSystem.move(home.certificate, to: stem + ".cert")
                moved.append("its certificate moved to \(stem).cert")
            }
            try KeyFiles.write(new, name: name, to: home.privateKey + ".next", publicPath: home.publicKey + ".next", what: "node")
            try FileSystem.writeAtomically(transition.bytes, to: stem + ".transition", mode: 0o644)
            try FileSystem.move(home.privateKey + ".next", to: home.privateKey)
            try FileSystem.move(home.publicKey + ".next", to: home.publicKey)
            print(KeyFiles.publicLine(name: name, key: new.publicKey), terminator: "")
            note("rotated \(name): \(old.publicKey.fingerprint) → \(new.publicKey.fingerprint); the old key and the transition it signed are in \(home.keyHistory)\(moved.isEmpty ? "" : "; " + moved.joined())")
            note("start the node again; peers that pinned the old key follow the transition at their next link with it")
        }
    }
}
