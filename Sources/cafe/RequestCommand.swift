import ArgumentParser
import CafeCore
import CafeNode
import Glibc

struct RequestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request", abstract: "Originate a batch of one request.",
        discussion: """
            Data is given as key=value. A key named with --secret is secret: its value is read from \
            stdin (one line per --secret, in order), never from the command line.
            """)

    @OptionGroup var options: HomeOption

    @Argument(help: "The request name.")
    var name: String

    @Argument(help: "Request data, as key=value.")
    var data: [String] = []

    @Option(name: .customLong("secret"), help: ArgumentHelp("A secret data key; its value is read from stdin.", valueName: "KEY"))
    var secrets: [String] = []

    @Option(help: "Seconds each host may take, from its own start, before it counts as no-answer.")
    var timeout: Double?

    @Flag(help: "Run on this host only, without a node.")
    var local = false

    func validate() throws {
        guard Names.isValidRequest(name) else { throw ValidationError("'\(name)' is not a valid request name") }
        for pair in data {
            guard let equals = pair.firstIndex(of: "="), Names.isValidDataKey(String(pair[..<equals])) else {
                throw ValidationError("'\(pair)' is not key=value with a valid key (a letter or _, then letters, digits, _ or -)")
            }
        }
        for key in secrets where !Names.isValidDataKey(key) {
            throw ValidationError("--secret '\(key)' is not a valid data key")
        }
        if let timeout, !ControlRequest.timeouts.contains(timeout) { throw ValidationError("--timeout must be more than 0 seconds and at most 30 days") }
        if local && timeout != nil { throw ValidationError("--timeout applies to mesh runs, not --local") }
    }

    func run() async throws {
        var requestData = RequestData()
        do {
            for pair in data {
                let equals = pair.firstIndex(of: "=")!
                try requestData.set(String(pair[..<equals]), String(pair[pair.index(after: equals)...]))
            }
            for key in secrets {
                guard let value = readSecretLine(prompt: "value of secret '\(key)': ") else {
                    throw InputError(source: "stdin", message: "ended before the value of secret '\(key)'")
                }
                guard value.withUnsafeBytes({ String(validating: $0, as: UTF8.self) != nil }) else {
                    throw InputError(source: "stdin", message: "the value of secret '\(key)' is not UTF-8 text")
                }
                try requestData.setSecret(key, .clear(value))
            }
        } catch let error as DataKeyError {
            throw InputError(source: "command line", message: error.description)
        }
        let input = BatchInput(name: "request \(name)", requests: [Request(name: name, data: requestData)])
        if local {
            try await runLocally(input, home: options.nodeHome)
        } else {
            try await runOnMesh(input, home: options.nodeHome, timeout: timeout)
        }
    }

    /// One line of stdin, without its newline, in wiped memory. On a terminal, `prompt` goes to
    /// stderr and echo is off while the line is typed (and restored after, even on an error).
    private func readSecretLine(prompt: String) -> SecretBytes? {
        var saved = termios()
        let terminal = isatty(0) == 1 && tcgetattr(0, &saved) == 0
        if terminal {
            StandardError.write(prompt)
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSAFLUSH, &quiet)
        }
        defer {
            if terminal {
                tcsetattr(0, TCSAFLUSH, &saved)
                StandardError.write("\n")
            }
        }
        var bytes: [UInt8] = []
        defer { bytes.withUnsafeMutableBytes { SecretBytes.wipe($0) } }
        var byte: UInt8 = 0
        var sawAny = false
        while read(0, &byte, 1) == 1 {
            sawAny = true
            if byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
        }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return sawAny ? SecretBytes(bytes) : nil
    }
}
