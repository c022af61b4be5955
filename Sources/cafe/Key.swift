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
            let home = options.nodeHome
            guard FileSystem.exists(home.publicKey) else {
                throw InputError(source: home.publicKey, message: "not found", hint: "create the node with `cafe init --name NAME`")
            }
            let text = String(decoding: try FileSystem.read(home.publicKey, maxBytes: 4096), as: UTF8.self)
            let line = text.split(separator: "\n").first.map(String.init) ?? ""
            let parsed = try KeyFiles.parsePublicLine(line)
            print(KeyFiles.publicLine(name: parsed.name, key: parsed.key), terminator: "")
        }
    }
}
