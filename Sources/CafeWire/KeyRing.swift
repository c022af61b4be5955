import CafeCore
import CafeCrypto

/// What a node (or `cafe verify`) accepts as proof of who signed: the keys it pinned (its
/// own and its peers' in `node.yaml`, moved on by key transitions it learned), the fleets
/// whose certificates it accepts, the revocations it knows, and retired keys, each valid for
/// signatures made before it was replaced.
public struct KeyRing: Sendable {
    /// Pinned keys by node name: a pinned key always wins over a certificate.
    public var keys: [String: PublicKey]
    public var fleets: [FleetAnchor]
    public var revocations: RevocationIndex
    /// Keys a node had before, each for signatures made before `until`.
    public var retired: [String: [RetiredKey]]

    public init(
        keys: [String: PublicKey] = [:], fleets: [FleetAnchor] = [], revocations: RevocationIndex = RevocationIndex(),
        retired: [String: [RetiredKey]] = [:]
    ) {
        self.keys = keys
        self.fleets = fleets
        self.revocations = revocations
        self.retired = retired
    }

    /// This node's key, every peer key and every fleet of `node.yaml`.
    public init(config: NodeFile, ownKey: PublicKey) throws {
        var keys = [config.name: ownKey]
        for peer in config.peers.values {
            if let key = peer.key { keys[peer.name] = try PublicKey(text: key) }
        }
        self.init(keys: keys, fleets: try config.fleets.sorted { $0.key < $1.key }.map { FleetAnchor(name: $0.key, key: try PublicKey(text: $0.value)) })
    }

    /// The pinned key of `name`.
    public subscript(name: String) -> PublicKey? { keys[name] }

    /// Follows `transition` if it moves a pinned key on (or is this node's own past): the new
    /// key is pinned, the old one retired for signatures made before the transition. Returns
    /// whether it changed anything.
    @discardableResult
    public mutating func learn(_ transition: KeyTransition) -> Bool {
        if keys[transition.name] == transition.old {
            keys[transition.name] = transition.new
        } else if keys[transition.name] != transition.new {
            return false
        }
        guard !(retired[transition.name] ?? []).contains(where: { $0.key == transition.old }) else { return false }
        retired[transition.name, default: []].append(RetiredKey(key: transition.old, until: transition.at))
        return true
    }

    /// The keys that may have made a signature by `signer`, best first, each with the times it
    /// may have been made at. Throws when there is none: no pinned key and no certificate of a
    /// known fleet.
    public func proofs(for signer: String, credentials: Credentials?) throws(EnvelopeError) -> [SignerProof] {
        guard let pinned = keys[signer] else {
            guard let certificate = credentials?.certificate else {
                throw EnvelopeError(
                    reason: .unknownSigner,
                    detail: "signed by '\(signer)', a node this node has no key for (no key: in node.yaml, no certificate of a fleet it trusts)")
            }
            guard certificate.name == signer else {
                throw EnvelopeError(reason: .unknownSigner, detail: "signed by '\(signer)' with the certificate of '\(certificate.name)'")
            }
            guard let fleet = anchor(of: certificate) else {
                throw EnvelopeError(
                    reason: .unknownSigner,
                    detail: "signed by '\(signer)', certified by fleet '\(certificate.fleet)', whose key is not in this node's fleets:")
            }
            return [SignerProof(key: certificate.key, certificate: certificate, origin: .certificate(fleet: fleet.key), revocations: revocations)]
        }
        // The pinned key, moved on by the transitions the signer presents (each signed by the key before it).
        var chain: [(key: PublicKey, from: Timestamp?)] = [(pinned, nil)]
        for transition in credentials?.transitions ?? [] where transition.name == signer && transition.old == chain[chain.count - 1].key {
            chain.append((transition.new, transition.at))
        }
        var proofs: [SignerProof] = []
        for index in chain.indices.reversed() {
            var proof = SignerProof(
                key: chain[index].key, certificate: nil, origin: chain[index].from.map { .transition(at: $0) } ?? .pinned, revocations: revocations)
            proof.notBefore = chain[index].from
            proof.notAfter = index + 1 < chain.count ? chain[index + 1].from : nil
            proofs.append(proof)
        }
        for old in retired[signer] ?? [] {
            var proof = SignerProof(key: old.key, certificate: nil, origin: .retired(until: old.until), revocations: revocations)
            proof.notAfter = old.until
            proofs.append(proof)
        }
        // A certificate for the same key still gives its tags.
        if let certificate = credentials?.certificate, certificate.name == signer, anchor(of: certificate) != nil {
            for index in proofs.indices where proofs[index].key == certificate.key {
                proofs[index].attach(certificate, revocations: revocations)
            }
        }
        return proofs
    }

    /// The fleet that signed `certificate`, if this ring trusts it.
    public func anchor(of certificate: NodeCertificate) -> FleetAnchor? {
        fleets.first { ($0.name == nil || $0.name == certificate.fleet) && CredentialCache.shared.isSigned(certificate, by: $0.key) }
    }
}

/// A key a node had before, valid for signatures made before `until`.
public struct RetiredKey: Sendable, Hashable {
    public var key: PublicKey
    public var until: Timestamp

    public init(key: PublicKey, until: Timestamp) {
        self.key = key
        self.until = until
    }
}

/// The key that verified a signature and why it counts: pinned, moved on by a transition,
/// retired, or certified by a fleet; with the times a signature by it may have been made.
public struct SignerProof: Sendable, Hashable {
    /// Where the key came from.
    public enum Origin: Sendable, Hashable {
        /// `node.yaml` (or the node's own key).
        case pinned
        /// A transition, signed by the key before it, that took effect at this time.
        case transition(at: Timestamp)
        /// A key replaced at this time, good for signatures made before.
        case retired(until: Timestamp)
        /// The signer's certificate, signed by this fleet key.
        case certificate(fleet: PublicKey)
    }

    public var key: PublicKey
    /// The signer's certificate, when it verified: it proves the key when ``certified``, and
    /// gives the signer's tags (for `tag:T` grants) either way.
    public var certificate: NodeCertificate?
    public var origin: Origin
    var notBefore: Timestamp?
    var notAfter: Timestamp?
    var revokedAt: Timestamp?

    init(key: PublicKey, certificate: NodeCertificate?, origin: Origin, revocations: RevocationIndex) {
        self.key = key
        self.origin = origin
        if let certificate { attach(certificate, revocations: revocations) }
    }

    /// `certificate` (for this key) with the time it was revoked from, if it was.
    mutating func attach(_ certificate: NodeCertificate, revocations: RevocationIndex) {
        self.certificate = certificate
        revokedAt = revocations.revokedAt(fleet: certificate.fleet, serial: certificate.serial)
    }

    /// True when the certificate, not a pinned key, proves the key.
    public var certified: Bool {
        if case .certificate = origin { return true }
        return false
    }

    /// How the key was found, for `cafe verify` and logs.
    public var basis: String {
        switch origin {
        case .pinned: "key \(key.fingerprint)"
        case .transition(let at): "key \(key.fingerprint), moved on from the pinned key by a transition it signed at \(at)"
        case .retired(let until): "retired key \(key.fingerprint), valid before \(until)"
        case .certificate(let fleet): "certificate \(certificate?.summary ?? "?") of fleet key \(fleet.fingerprint)"
        }
    }

    /// The tags the signer's valid certificate gives it.
    public var tags: [String] { certificate?.tags ?? [] }

    /// This proof for a signature made at `time`: refused when the key was not valid then (a
    /// certificate outside its validity or revoked, a key already replaced). A certificate
    /// that only gives tags to a pinned key is dropped instead when it does not hold.
    public func checked(at time: Timestamp) throws(EnvelopeError) -> SignerProof {
        if let notBefore, time < notBefore {
            throw EnvelopeError(reason: .credential, detail: "signed at \(time) with key \(key.fingerprint), which took effect at \(notBefore)")
        }
        if let notAfter, time >= notAfter {
            throw EnvelopeError(reason: .credential, detail: "signed at \(time) with key \(key.fingerprint), which was replaced at \(notAfter)")
        }
        guard let certificate, let problem = certificate.problem(at: time, revokedAt: revokedAt) else { return self }
        if certified { throw EnvelopeError(reason: .credential, detail: "signed at \(time): \(problem)") }
        var pinnedOnly = self
        pinnedOnly.certificate = nil
        return pinnedOnly
    }
}
