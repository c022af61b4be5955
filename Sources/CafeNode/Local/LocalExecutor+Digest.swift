import CafeCore
import CafeCrypto

extension LocalExecutor {
    /// ``run(_:batch:)``, recording in the result (which the host then signs) the digest of
    /// the command-map entry it used, so the result proves which commands ran.
    func runRecordingDigest(_ request: Request, batch: BatchContext) async -> HostResult {
        var result = await run(request, batch: batch)
        if !request.isAdhoc { result.commandDigest = commandMap.entry(for: request.name)?.digest }
        return result
    }
}
