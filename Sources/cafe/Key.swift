import ArgumentParser
import CafeCore
import CafeCrypto

struct Key: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with the node's key.", subcommands: [Show.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the public key line `NAME ed25519:BASE64` for peers' node.yaml.")

        @OptionGroup var options: HomeOption

        func run() async throws {
            let parsed = try KeyFiles.loadPublicKey(from: options.nodeHome)
            print(KeyFiles.publicLine(name: parsed.name, key: parsed.key), terminator: "")
        }
    }
}
