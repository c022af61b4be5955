import CafeCore
import CafeCrypto
import Synchronization

/// What a node already checked of the credentials its peers present, so that the envelopes of a
/// certified node cost one signature check each, as a pinned node's do: credentials lines
/// already decoded (their transitions' signatures checked), and certificates already found
/// signed by a fleet key. Bounded: emptied when full.
final class CredentialCache: Sendable {
    static let shared = CredentialCache()
    static let capacity = 4096

    private let decoded = Mutex<[[UInt8]: Credentials]>([:])
    private let certified = Mutex<Set<[UInt8]>>([])

    /// The credentials encoded by the base64 `line`, decoded once.
    func credentials(line: ArraySlice<UInt8>, decode: () throws -> Credentials) rethrows -> Credentials {
        let key = Array(line)
        if let known = decoded.withLock({ $0[key] }) { return known }
        let credentials = try decode()
        decoded.withLock { cache in
            if cache.count >= Self.capacity { cache.removeAll(keepingCapacity: true) }
            cache[key] = credentials
        }
        return credentials
    }

    /// True when `fleetKey` signed `certificate`; each pair is checked once.
    func isSigned(_ certificate: NodeCertificate, by fleetKey: PublicKey) -> Bool {
        let key = fleetKey.bytes + certificate.bytes
        if certified.withLock({ $0.contains(key) }) { return true }
        guard certificate.signed(by: fleetKey) else { return false }
        certified.withLock { cache in
            if cache.count >= Self.capacity { cache.removeAll(keepingCapacity: true) }
            cache.insert(key)
        }
        return true
    }
}
