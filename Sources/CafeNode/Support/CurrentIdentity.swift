import CafeCore
import CafeCrypto
import CafeWire
import NIOConcurrencyHelpers

/// The node's identity (home, configuration, keys) as last loaded, shared by the node and its
/// transports, and the number of that configuration: 1 at start, one more for every reload
/// that applied (SIGHUP, `cafe reload`). A reload replaces it whole, so every reader sees
/// either the old configuration or the new one, never a mix.
public final class CurrentIdentity: Sendable {
    private let box: NIOLockedValueBox<State>

    struct State {
        var identity: NodeIdentity
        var generation = 1
        /// One more for every change: a reload, or a certificate or key transition learned.
        var revision = 0
    }

    public init(_ identity: NodeIdentity) {
        box = NIOLockedValueBox(State(identity: identity))
    }

    public var identity: NodeIdentity { box.withLockedValue { $0.identity } }

    /// The configuration generation now in force.
    public var generation: Int { box.withLockedValue { $0.generation } }

    /// The identity, its generation and its revision, read together.
    var state: State { box.withLockedValue { $0 } }

    /// Puts `identity` in force; returns its generation.
    func replace(with identity: NodeIdentity) -> Int {
        box.withLockedValue { current in
            current.identity = identity
            current.generation += 1
            current.revision += 1
            return current.generation
        }
    }
}

extension CurrentIdentity {
    /// What a peer proved in a handshake or a signed envelope: a key transition signed by a key
    /// this node pinned is followed (the new key pinned, the old one kept for older signatures)
    /// and recorded in `keys/peers/NAME.transitions`; a fleet certificate is kept in
    /// `keys/peers/NAME.cert`, so secrets can be sealed to a peer with no `key:` line. Returns
    /// one line per change, for the log.
    func learn(_ name: String, credentials: Credentials, proof: SignerProof) throws -> [String] {
        try box.withLockedValue { current -> [String] in
            var identity = current.identity
            var lines: [String] = []
            var followed = false
            for transition in credentials.transitions where transition.name == name {
                let old = identity.keys[name]
                if identity.keys.learn(transition) {
                    followed = true
                    lines.append(
                        "\(name) rotated its key: \(transition.old.fingerprint) → \(transition.new.fingerprint) at \(transition.at) (signed by the old key\(old == transition.old ? ", which node.yaml pins" : "")); recorded in \(identity.home.learnedKeys)/\(name).transitions")
                }
            }
            if followed {
                try FileSystem.makeDirectory(identity.home.learnedKeys)
                let chain = Credentials(transitions: credentials.transitions.filter { $0.name == name })
                try FileSystem.writeAtomically(chain.encoded, to: identity.home.learnedKeys + "/\(name).transitions", mode: 0o644)
            }
            if let certificate = proof.certificate, identity.certificates[name] != certificate {
                try FileSystem.makeDirectory(identity.home.learnedKeys)
                try FileSystem.writeAtomically(certificate.bytes, to: identity.home.learnedKeys + "/\(name).cert", mode: 0o644)
                identity.certificates[name] = certificate
                lines.append("\(name) presented certificate \(certificate.summary)")
            }
            if !lines.isEmpty {
                current.identity = identity
                current.revision += 1
            }
            return lines
        }
    }
}
