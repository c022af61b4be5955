import CafeCore
import CafeCrypto

extension RequestBody {
    /// Why `host` must not run this request: it was planned (``planDigest``) with a command-map
    /// entry that `commandMap` no longer has. Names both digests; nil when there is no plan or
    /// the entry is unchanged.
    public func planMismatch(commandMap: CommandMap, host: String) -> String? {
        guard let planDigest else { return nil }
        let current = commandMap.entry(for: request)?.digest
        guard current != planDigest else { return nil }
        return "the command-map entry for '\(request)' on \(host) is \(current ?? "gone (no entry)") now, but the plan has \(planDigest); nothing ran (make a new plan with cafe batch plan)"
    }
}
