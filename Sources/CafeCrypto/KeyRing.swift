import CafeCore

/// The public keys a node knows: its own and its peers', by node name.
public struct KeyRing: Sendable {
    public var keys: [String: PublicKey]

    public init(keys: [String: PublicKey] = [:]) {
        self.keys = keys
    }

    /// This node's key plus every peer key in `node.yaml`.
    public init(config: NodeConfig, ownKey: PublicKey) throws {
        var keys = [config.name: ownKey]
        for peer in config.peers.values {
            keys[peer.name] = try PublicKey(text: peer.key)
        }
        self.init(keys: keys)
    }

    public subscript(name: String) -> PublicKey? { keys[name] }
}
