import ArgumentParser
import CafeCore
import CafeCrypto
import CafeNode
import CafeWire

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show an executed batch file as a table (or JSON, or an HTML page).",
        discussion: """
            Hosts whose results are identical are shown on one row. Hosts, states and outputs come from the hosts' \
            signed results; the whole file is verified as `cafe verify` does, with the keys the node knows. When \
            verification fails the first line says NOT VERIFIED, the rows are marked, --json has "verified": false, \
            --html pages say NOT VERIFIED, and the exit status is 1.
            """)

    @OptionGroup var options: HomeOption

    @Argument(help: "An executed batch file, or a batch id of this node.")
    var target: String

    @Flag(help: "Print JSON instead of the table.")
    var json = false

    @OptionGroup var anchors: FleetOptions

    @Flag(help: "Group hosts with identical results under one header (host lists folded: web[01-20]) with every command's whole output, as clush -b does.")
    var group = false

    @Option(help: ArgumentHelp(
        "Write one self-contained HTML page (the batch, a host table that filters by state, every output, a timeline, every signature's verdict) to this file instead of printing the table; prints its path.",
        valueName: "OUT.html"))
    var html: String?

    func validate() throws {
        if json && group { throw ValidationError("--json and --group are two different outputs; choose one") }
        if html != nil && (json || group) {
            throw ValidationError("--html writes a page instead of printing; --json and --group choose what is printed: use one of them per call")
        }
    }

    func run() async throws {
        let home = options.nodeHome
        let path = try locateBatchFile(target, home: home)
        let bytes = try FileSystem.read(path, maxBytes: YAMLLimits.executedBatchFile.maxBytes)
        let keys = try knownKeys(home: home, fleets: anchors.fleet, revoked: anchors.revoked)
        let verification = try BatchVerifier.verify(bytes, keys: keys, source: path)
        let batch = try Batch(executedYAML: bytes, source: path)
        let report = BatchReport(batch: batch, keys: keys, verification: verification)
        if let html {
            try write(report.html(keys: keys, checkedAt: SystemClock().now()), to: html)
            if !report.isVerified {
                note("NOT VERIFIED: \(report.problems.count) check(s) failed; the page lists them, and so does `cafe verify`")
            }
            print(html)
        } else {
            print(json ? report.json() : group ? report.grouped() : report.table(), terminator: "")
        }
        if !report.isVerified { throw ExitCode(1) }
    }

    /// Writes `page` to `path` atomically (readable by all, as executed batch files are).
    func write(_ page: String, to path: String) throws {
        do {
            try FileSystem.writeAtomically(Array(page.utf8), to: path, mode: 0o644)
        } catch {
            throw EnvironmentError("cannot write the HTML page to \(path) (\(error)); give --html a file in an existing directory you may write to", exitStatus: 2)
        }
    }
}

/// A path as given, or the file of batch id `target` in done/, error/ or running/.
func locateBatchFile(_ target: String, home: NodeHome) throws -> String {
    if let id = BatchID(validating: target) {
        if let (_, path) = home.executedBatchFile(id) { return path }
        if FileSystem.exists(home.batchFile(id, in: .running)) || FileSystem.exists(home.batchFile(id, in: .queue)) {
            throw InputError(source: target, message: "is still running; it has no executed batch file yet", hint: "see `cafe status \(target)`")
        }
        throw InputError(source: target, message: "no executed batch file with this id in \(home.batchesDirectory)")
    }
    guard FileSystem.exists(target) else { throw InputError(source: target, message: "not found") }
    return target
}

/// `--fleet` and `--revoked` of `cafe show` and `cafe verify`.
struct FleetOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A fleet public key whose certificates prove signers' keys (repeat for several).", valueName: "ed25519:BASE64"))
    var fleet: [String] = []

    @Option(help: ArgumentHelp("A fleet's signed revocation list (repeat for several).", valueName: "FILE"))
    var revoked: [String] = []
}

/// The keys of the node at `home` (its own and its peers', moved on by the key transitions it
/// knows, its fleets and revocation lists), plus `fleets` and the revocation lists at
/// `revoked` given on the command line. Only `node.yaml` and the key files are read: checking a
/// finished batch must not depend on today's delivery, command or trust maps.
func knownKeys(home: NodeHome, fleets: [String] = [], revoked: [String] = []) throws -> KeyRing {
    var ring = KeyRing()
    if FileSystem.exists(home.nodeConfig) {
        let node = try NodeFile(yaml: FileSystem.read(home.nodeConfig, maxBytes: YAMLLimits.config.maxBytes), source: home.nodeConfig)
        ring = try HomeKeys.load(home: home, config: node, ownKey: try KeyFiles.loadPublicKey(from: home).key).ring
    } else if fleets.isEmpty {
        note("note: no node at \(home.root) (no \(home.nodeConfig)), so no keys to check signatures with; pass --home DIR of a node whose node.yaml lists the signers, or --fleet KEY")
    }
    for text in fleets {
        do {
            ring.fleets.append(FleetAnchor(name: nil, key: try PublicKey(text: text)))
        } catch {
            throw InputError(source: "--fleet", message: "'\(text)' is not a fleet key (ed25519: and 44 base64 characters, as `cafe fleet init` prints)")
        }
    }
    if !revoked.isEmpty {
        var lists = ring.revocations.lists.map(\.value)
        for path in revoked {
            lists.append(try RevocationList(bytes: try FileSystem.read(path, maxBytes: SignedDocument.maxRevocationBytes), fleets: ring.fleets, source: path))
        }
        ring.revocations = RevocationIndex(lists)
    }
    return ring
}
