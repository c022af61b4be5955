import CafeCore
import NIOConcurrencyHelpers

/// The node's identity (home, configuration, keys) as last loaded, shared by the node and its
/// transports, and the number of that configuration: 1 at start, one more for every reload
/// that applied (SIGHUP, `cafe reload`). A reload replaces it whole, so every reader sees
/// either the old configuration or the new one, never a mix.
public final class CurrentIdentity: Sendable {
    private let box: NIOLockedValueBox<(identity: NodeIdentity, generation: Int)>

    public init(_ identity: NodeIdentity) {
        box = NIOLockedValueBox((identity, 1))
    }

    public var identity: NodeIdentity { box.withLockedValue { $0.identity } }

    /// The configuration generation now in force.
    public var generation: Int { box.withLockedValue { $0.generation } }

    /// Puts `identity` in force; returns its generation.
    func replace(with identity: NodeIdentity) -> Int {
        box.withLockedValue { current in
            current = (identity, current.generation + 1)
            return current.generation
        }
    }
}
