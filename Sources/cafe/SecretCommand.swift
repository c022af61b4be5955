import ArgumentParser
import CafeCore
import Glibc

/// `cafe secret KEY`: for shell commands in a command map, the raw value of one data key (a
/// secret, usually) from the YAML the command receives on stdin.
struct SecretCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret", abstract: "Print the raw value of KEY from request data on stdin (for commands).",
        discussion: """
            A command receives the request's data, secrets included, as YAML on stdin. In a shell command, \
            `pw="$(cafe secret pw)"` reads that YAML and prints the value of `pw` exactly, with no quoting, \
            escapes or newline added. Exit 2 when stdin is not such YAML or has no KEY. Use it once per \
            command: it reads stdin to the end.
            """)

    @Argument(help: "The data key.")
    var key: String

    func run() async throws {
        var input: [UInt8] = []
        defer { input.withUnsafeMutableBytes { SecretBytes.wipe($0) } }
        var chunk = [UInt8](repeating: 0, count: 65536)
        defer { chunk.withUnsafeMutableBytes { SecretBytes.wipe($0) } }
        while true {
            let count = read(0, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            input.append(contentsOf: chunk[0..<count])
            guard input.count <= YAMLLimits.batchFile.maxBytes else {
                throw InputError(source: "stdin", message: "is over \(YAMLLimits.batchFile.maxBytes) bytes")
            }
        }
        let mapping = try YAMLReader.document(input, limits: .batchFile, source: "stdin").mapping()
        guard let value = mapping.optional(key) else {
            throw InputError(source: "stdin", message: "has no key '\(key)'", hint: "the request's data keys: " + mapping.entries.map(\.key.text).joined(separator: ", "))
        }
        var bytes = Array(try value.string().utf8)
        defer { bytes.withUnsafeMutableBytes { SecretBytes.wipe($0) } }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(1, $0.baseAddress! + written, bytes.count - written) }
            guard count > 0 else { throw EnvironmentError("cannot write to stdout", exitStatus: 1) }
            written += count
        }
    }
}
