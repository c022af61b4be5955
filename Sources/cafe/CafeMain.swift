import ArgumentParser
import CafeCore
import CafeNode
import Glibc

/// Entry point: runs the command and maps errors to the exit statuses of the contract
/// (1 failed or unverified, 2 bad usage, config or input, 3 no local node).
@main
enum CafeMain {
    static func main() async {
        do {
            var command = try Cafe.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as any ExitCoded {
            // Messages quote file contents and peers' words: one safe line each.
            let lines = "\(error)".split(separator: "\n", omittingEmptySubsequences: false).map { TerminalText.safe(String($0)) }
            StandardError.write("cafe: " + lines.joined(separator: "\n") + "\n")
            exit(error.exitStatus)
        } catch {
            let code = Cafe.exitCode(for: error)
            let message = Cafe.fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
                exit(0)
            }
            if !message.isEmpty { StandardError.write(message + "\n") }
            // Usage errors are exit status 2 in CafeBatch's contract (ArgumentParser says 64).
            exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

struct Cafe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cafe",
        abstract: "CafeBatch: run batches of requests across a network of cafe-node daemons.",
        discussion: """
            Exit status: 0 all succeeded or verified; 1 a command failed, a host gave no answer, or \
            verification failed; 2 bad usage, config or input file; 3 the local node is not running.
            """,
        version: "cafe \(CafeVersion.string)",
        subcommands: [
            Init.self, Key.self, BatchCommand.self, RequestCommand.self, RunCommand.self, StatusCommand.self,
            ShowCommand.self, VerifyCommand.self, RerunCommand.self, ReloadCommand.self, ConfigCommand.self, SecretCommand.self, PeerCommand.self, TrustCommand.self, WaitCommand.self, FleetCommand.self,
        ])
}

/// `--home DIR`, else `$CAFE_HOME`, else `~/.cafe`.
struct HomeOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The node's home directory (default: $CAFE_HOME, else ~/.cafe).", valueName: "DIR"))
    var home: String?

    var nodeHome: NodeHome { NodeHome.resolve(home) }
}

/// Writes a line to stderr, with terminal control characters escaped (lines quote batch names,
/// notes and output from files and peers).
func note(_ line: String) {
    StandardError.write(TerminalText.safe(line) + "\n")
}
