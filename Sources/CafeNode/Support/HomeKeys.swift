import CafeCore
import CafeCrypto
import CafeWire

/// The key material of a node home beyond `node.key` and `node.pub`, read by the node and by
/// `cafe show`/`verify`: the node's certificate and key history (its ``Credentials``), the
/// revocation lists in `config/`, and what it learned of its peers' keys.
public struct HomeKeys: Sendable {
    /// What this node presents: `keys/node.cert` and the transitions in `keys/history/`.
    public var credentials: Credentials
    /// Pinned keys of node.yaml, moved on by every known transition; fleets; revocations.
    public var ring: KeyRing
    /// Certificates peers presented (`keys/peers/NAME.cert`), by node name.
    public var certificates: [String: NodeCertificate]

    /// Reads everything under `home` for node `config.name`, whose key is `ownKey`. Every
    /// problem names its file.
    public static func load(home: NodeHome, config: NodeFile, ownKey: PublicKey) throws -> HomeKeys {
        var certificate: NodeCertificate?
        if FileSystem.exists(home.certificate) {
            let loaded = try NodeCertificate(bytes: try FileSystem.read(home.certificate, maxBytes: NodeCertificate.maxBytes + 1), source: home.certificate)
            guard loaded.name == config.name, loaded.key == ownKey else {
                throw CryptoError(
                    "\(home.certificate) certifies \(loaded.name) with key \(loaded.key.fingerprint), not \(config.name) with this node's key \(ownKey.fingerprint); ask the fleet operator for a certificate of `cafe key show`")
            }
            certificate = loaded
        }
        let transitions = try readTransitions(in: home.keyHistory, suffix: ".transition")
        var chainEnd: PublicKey?
        for transition in transitions {
            guard transition.name == config.name, chainEnd == nil || chainEnd == transition.old else {
                throw CryptoError("\(home.keyHistory): the key transitions do not form one chain of \(config.name)'s keys")
            }
            chainEnd = transition.new
        }
        if let chainEnd, chainEnd != ownKey {
            throw CryptoError(
                "\(home.keyHistory): the last key transition leads to \(chainEnd.fingerprint), not to this node's key \(ownKey.fingerprint): a `cafe key rotate` was interrupted; if \(home.privateKey).next exists, move it and \(home.publicKey).next into place, else remove the newest .transition file")
        }
        var ring = try KeyRing(config: config, ownKey: ownKey)
        var lists: [RevocationList] = []
        for path in try home.revocationLists() {
            lists.append(try RevocationList(bytes: try FileSystem.read(path, maxBytes: SignedDocument.maxRevocationBytes), fleets: ring.fleets, source: path))
        }
        ring.revocations = RevocationIndex(lists)
        for transition in transitions { ring.learn(transition) }
        var certificates: [String: NodeCertificate] = [:]
        if FileSystem.isDirectory(home.learnedKeys) {
            for file in try FileSystem.list(home.learnedKeys) {
                let path = home.learnedKeys + "/" + file
                if file.hasSuffix(".transitions") {
                    let chain = try Credentials(encoded: try FileSystem.read(path, maxBytes: Credentials.maxBytes), source: path)
                    for transition in chain.transitions { ring.learn(transition) }
                } else if file.hasSuffix(".cert") {
                    let learned = try NodeCertificate(bytes: try FileSystem.read(path, maxBytes: NodeCertificate.maxBytes), source: path)
                    certificates[learned.name] = learned
                }
            }
        }
        return HomeKeys(credentials: Credentials(certificate: certificate, transitions: transitions), ring: ring, certificates: certificates)
    }

    /// The transitions in `directory` (files ending in `suffix`), in order of their `at`.
    static func readTransitions(in directory: String, suffix: String) throws -> [KeyTransition] {
        guard FileSystem.isDirectory(directory) else { return [] }
        return try FileSystem.list(directory).filter { $0.hasSuffix(suffix) }.map { file in
            let path = directory + "/" + file
            return try KeyTransition(bytes: try FileSystem.read(path, maxBytes: KeyTransition.maxBytes), source: path)
        }.sorted { $0.at < $1.at }
    }
}
