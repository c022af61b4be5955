/// Tunables under `settings:` in `node.yaml`; every one has a default.
///
/// ```yaml
/// settings:
///   request-expiry: 86400     # seconds a request stays deliverable
///   max-clock-skew: 300       # seconds an envelope may be dated in the future
///   handshake-timeout: 10     # seconds a new connection has to say hello
///   idle-timeout: 300         # seconds without traffic before a link is closed
///   max-parallel: 32          # requests this node runs at the same time
/// ```
public struct NodeSettings: Sendable, Hashable {
    /// Seconds a request envelope stays valid, unless the batch says otherwise.
    public var requestExpiry: Double = 86_400
    /// Seconds an envelope may claim to be from the future before it is refused.
    public var maxClockSkew: Double = 300
    /// Seconds a new peer connection has to send its hello.
    public var handshakeTimeout: Double = 10
    /// Seconds without traffic before a peer link is closed (it reopens when needed).
    public var idleTimeout: Double = 300
    /// Requests this node runs at the same time; more wait their turn.
    public var maxParallel = 32

    /// Longest request lifetime: 30 days (receivers refuse envelopes that claim longer).
    public static let maxExpiry: Double = 30 * 86_400

    public init() {}

    init(_ reader: YAMLReader) throws {
        let mapping = try reader.mapping(
            allowed: ["request-expiry", "max-clock-skew", "handshake-timeout", "idle-timeout", "max-parallel"])
        if let expiry = mapping.optional("request-expiry") {
            requestExpiry = try expiry.seconds()
            guard requestExpiry >= 1, requestExpiry <= Self.maxExpiry else {
                throw expiry.error("must be between 1 and \(Int(Self.maxExpiry)) seconds (30 days)")
            }
        }
        if let skew = mapping.optional("max-clock-skew") {
            maxClockSkew = try skew.seconds()
            guard maxClockSkew <= 3600 else { throw skew.error("must be at most 3600 seconds") }
        }
        if let handshake = mapping.optional("handshake-timeout") {
            handshakeTimeout = try handshake.seconds()
            guard handshakeTimeout >= 0.1 else { throw handshake.error("must be at least 0.1 seconds") }
        }
        if let idle = mapping.optional("idle-timeout") {
            idleTimeout = try idle.seconds()
            guard idleTimeout >= 1 else { throw idle.error("must be at least 1 second") }
        }
        if let parallel = mapping.optional("max-parallel") {
            maxParallel = try parallel.int()
            guard maxParallel >= 1, maxParallel <= 4096 else { throw parallel.error("must be between 1 and 4096") }
        }
    }
}
