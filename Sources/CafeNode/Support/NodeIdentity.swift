import CafeCore
import CafeCrypto
import CafeWire

/// A node's home, its checked configuration, its private key and the public keys it knows.
/// Loaded once at start; every problem is reported before anything runs.
public struct NodeIdentity: Sendable {
    public let home: NodeHome
    public let configuration: NodeConfiguration
    public let key: SigningKey
    /// Pinned keys (moved on by known transitions), fleets and revocations.
    public internal(set) var keys: KeyRing
    /// This node's certificate and key transitions, presented in handshakes and signed texts.
    public let credentials: Credentials
    /// Certificates peers presented, by name: the keys secrets are sealed to for peers that
    /// have no `key:` in node.yaml.
    public internal(set) var certificates: [String: NodeCertificate]

    public var name: String { configuration.node.name }

    public init(home: NodeHome, configuration: NodeConfiguration, key: SigningKey) throws {
        guard let stored = try? KeyFiles.loadPublicKey(from: home), stored.key == key.publicKey else {
            throw CryptoError("\(home.publicKey) is missing or does not match \(home.privateKey)")
        }
        self.home = home
        self.configuration = configuration
        self.key = key
        let loaded = try HomeKeys.load(home: home, config: configuration.node, ownKey: key.publicKey)
        keys = loaded.ring
        credentials = loaded.credentials
        certificates = loaded.certificates
    }

    /// The key to seal `host`'s secrets to: its pinned key, else the key of a certificate it
    /// presented that holds `now`.
    public func sealingKey(for host: String, now: Timestamp) -> PublicKey? {
        if let pinned = keys[host] { return pinned }
        guard let certificate = certificates[host], keys.anchor(of: certificate) != nil,
            certificate.problem(at: now, revocations: keys.revocations) == nil
        else { return nil }
        return certificate.key
    }

    /// Reads and checks everything under `home`.
    public static func load(home: NodeHome) throws -> NodeIdentity {
        let configuration = try NodeConfiguration.load(from: home)
        let key = try KeyFiles.loadPrivateKey(from: home, name: configuration.node.name)
        return try NodeIdentity(home: home, configuration: configuration, key: key)
    }

    /// `batch` with every clear secret sealed to this node's own key (for the saved original),
    /// bound to the batch, the request's position and the key name.
    public func sealingSecrets(of batch: Batch) throws -> Batch {
        var sealed = batch
        for index in sealed.requests.indices {
            sealed.requests[index].data = try sealed.requests[index].data.mapSecrets { name, value in
                guard case .clear(let clear) = value else { return value }
                return .sealed(try SecretSealer.seal(
                    clear, to: key.publicKey,
                    binding: SecretSealer.originalBinding(batch: batch.id.rawValue, index: index, origin: self.name, key: name)))
            }
        }
        return sealed
    }

    /// Signs `result` as this node's answer to request `index` of `batch`, addressed to `target`
    /// (the origin, or the host that fanned the request out to this one).
    public func signResult(
        _ result: HostResult, batch: BatchContext, index: Int, request: String, answers: String, now: Timestamp,
        random: any RandomSource, target: String? = nil
    ) -> Envelope {
        let header = EnvelopeHeader(
            kind: .result, id: EnvelopeID.make(time: now, random: random), origin: batch.origin, sender: name,
            target: target ?? batch.origin, created: now, expires: now.adding(seconds: configuration.node.settings.requestExpiry))
        // Escapes, base64 and indentation make the envelope larger than the raw output, and a
        // relay or a forwarding host wraps it again: halve the output budget until the signed
        // result takes at most half the envelope limit. Leaves' signed results (a forwarding
        // host's) cannot be cut; if they alone are too large, they are dropped, largest first,
        // and verification will say so for each.
        var budget = HostResult.maxOutputBytes
        var fitted = result.fitted(toOutputBytes: budget)
        while true {
            let body = ResultBody(batch: batch.id, index: index, request: request, answers: answers, result: fitted)
            let envelope = Envelope.seal(header: header, body: .result(body), key: key, credentials: credentials)
            if envelope.bytes.count <= EnvelopeLimits.maxBytes / 2 { return envelope }
            if budget > 1024 {
                budget /= 2
                fitted = result.fitted(toOutputBytes: budget)
            } else if let largest = fitted.leaves.indices.filter({ fitted.leaves[$0].signedResult != nil })
                .max(by: { (fitted.leaves[$0].signedResult?.utf8.count ?? 0) < (fitted.leaves[$1].signedResult?.utf8.count ?? 0) })
            {
                let size = fitted.leaves[largest].signedResult?.utf8.count ?? 0
                fitted.leaves[largest].note = "its signed result (\(size) bytes) was too large to carry home; it stays in the spool of \(fitted.leaves[largest].host)"
                fitted.leaves[largest].signedResult = nil
                fitted.leaves[largest].result = nil
            } else {
                return envelope
            }
        }
    }
}

