import CafeCore
import CafeCrypto
import CafeWire

/// Runs requests on this host (``LocalExecutor``) and signs each result with the node's key,
/// so local runs produce executed batch files that `cafe verify` can prove.
public struct SigningLocalExecutor: RequestExecutor {
    public var identity: NodeIdentity
    public var local: LocalExecutor
    public var clock: any WallClock
    public var random: any RandomSource

    public init(identity: NodeIdentity, local: LocalExecutor, clock: any WallClock = SystemClock(), random: any RandomSource = SystemRandom()) {
        self.identity = identity
        self.local = local
        self.clock = clock
        self.random = random
    }

    public func execute(_ request: Request, index: Int, batch: BatchContext) async -> [HostRecord] {
        let result = await local.runRecordingDigest(request, batch: batch)
        let now = clock.now()
        let envelope = identity.signResult(
            result, batch: batch, index: index, request: request.name,
            answers: "local-\(batch.id)-\(index)", now: now, random: random)
        // The record holds what was signed (the output trimmed, if it had to be, to fit).
        guard case .result(let signed) = envelope.body else { return [] }
        return [HostRecord(host: identity.name, state: signed.result.state, result: signed.result, signedResult: envelope.text)]
    }
}
