import CafeCore
import CafeCrypto
import CafeWire
import Glibc

/// A batch run on this host alone, without a node (`--local`, `cafe run` without `--on`):
/// the original is saved with its secrets sealed to this node's key before anything runs, every
/// result is signed by this node, and the executed batch file, signed too, goes to
/// `batches/done/` or `batches/error/`.
///
/// The operator who can start a local run can read the node's key, so trust.yaml is not
/// consulted; the run is recorded in the audit log.
public struct LocalRun: Sendable {
    public var identity: NodeIdentity
    public var clock: any WallClock
    public var random: any RandomSource
    public var runner: CommandRunner
    /// Hears one line per event, for progress on stderr.
    public var progress: @Sendable (String) -> Void

    public init(
        identity: NodeIdentity, clock: any WallClock = SystemClock(), random: any RandomSource = SystemRandom(),
        runner: CommandRunner = CommandRunner(), progress: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.identity = identity
        self.clock = clock
        self.random = random
        self.runner = runner
        self.progress = progress
    }

    /// Runs `input` and returns the executed batch and the path of its file.
    public func run(_ input: BatchInput) async throws -> (batch: Batch, path: String) {
        let home = identity.home
        try home.createLayout()
        let now = clock.now()
        var batch = Batch(
            id: BatchID(time: now, random: random), name: input.name, origin: identity.name, created: now,
            requests: input.requests)
        try saveOriginal(batch)
        try AuditLog(path: home.auditLog, clock: clock).record(
            allowed: true,
            fields: [("signer", identity.name), ("batch", batch.id.rawValue), ("requests", batch.requests.map(\.name).joined(separator: ","))],
            reason: "local run by uid \(getuid()); trust.yaml is not consulted for local runs")
        let progress = self.progress
        let node = identity.name
        progress("batch \(batch.id) '\(batch.name)': \(batch.requests.count) request(s) on \(node)")
        let executor = SigningLocalExecutor(
            identity: identity,
            local: LocalExecutor(
                node: node, commandMap: identity.configuration.commands, runner: runner,
                onCommand: { result in progress("  \(node): $ \(result.command)  → \(result.outcomeSummary) in \(YAMLEmitter.formatSeconds(result.duration)) s") }),
            clock: clock, random: random)
        await batch.run(on: executor, clock: clock) { index, request in
            switch request.state {
            case .running: progress("[\(index)] \(request.name): running on \(node)")
            case .skipped: progress("[\(index)] \(request.name): skipped (an earlier request failed)")
            default:
                for record in request.records {
                    progress("[\(index)] \(request.name) on \(record.host): \(record.state.rawValue)" + (record.result?.message.map { " — \($0)" } ?? ""))
                }
            }
        }
        let folder: BatchFolder = batch.state == .done ? .done : .error
        let path = home.batchFile(batch.id, in: folder)
        try FileSystem.writeAtomically(batch.signedExecutedYAML(key: identity.key, credentials: identity.credentials), to: path, mode: 0o644)
        return (batch, path)
    }

    /// Writes `batches/original/ID.yaml` with every secret sealed to this node.
    func saveOriginal(_ batch: Batch) throws {
        try FileSystem.writeAtomically(try identity.sealingSecrets(of: batch).originalYAML(), to: identity.home.batchFile(batch.id, in: .original))
    }
}
