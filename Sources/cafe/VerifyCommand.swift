import ArgumentParser
import CafeCore
import CafeWire

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check every signature in an executed batch file or an envelope file.",
        discussion: """
            Uses the keys this node knows (its own and its peers', moved on by key transitions), the certificates \
            of its fleets, and --fleet keys: with --fleet no node home is needed, since every signer's certificate \
            travels in the file and is checked at the time of each signature. --revoked lists fail signatures \
            made from a certificate's revocation on. Prints a verdict per signed part; exit 0 only if all pass, \
            1 otherwise, 2 for a file that cannot be read.
            """)

    @OptionGroup var options: HomeOption

    @Argument(help: "An executed batch file (or a batch id of this node), or an envelope file.")
    var file: String

    @OptionGroup var anchors: FleetOptions

    @Flag(help: "Print one JSON object (file, verified, checks, failed, verdicts) instead of the lines.")
    var json = false

    @Option(help: "Largest file accepted, in bytes (at most 268435456).")
    var maxBytes = 32 << 20

    func validate() throws {
        guard maxBytes > 0, maxBytes <= YAMLLimits.executedBatchFile.maxBytes else {
            throw ValidationError("--max-bytes must be between 1 and \(YAMLLimits.executedBatchFile.maxBytes)")
        }
    }

    func run() async throws {
        let home = options.nodeHome
        let path = try locateBatchFile(file, home: home)
        let bytes = try FileSystem.read(path, maxBytes: maxBytes)
        let report = try BatchVerifier.verify(bytes, keys: knownKeys(home: home, fleets: anchors.fleet, revoked: anchors.revoked), source: path)
        if json {
            print(report.json(file: path), terminator: "")
        } else {
            for verdict in report.verdicts {
                print(TerminalText.safe("\(verdict.passed ? "PASS" : "FAIL")  \(verdict.subject): \(verdict.detail)"))
            }
            let failed = report.verdicts.filter { !$0.passed }.count
            print(report.passed ? "verified: all \(report.verdicts.count) signature checks passed" : "NOT verified: \(failed) of \(report.verdicts.count) checks failed")
        }
        if !report.passed { throw ExitCode(1) }
    }
}
