/// Tunables under `settings:` in `node.yaml`; every one has a default.
///
/// ```yaml
/// settings:
///   request-expiry: 86400     # seconds a request stays deliverable
///   max-clock-skew: 300       # seconds an envelope may be dated in the future
/// ```
public struct NodeSettings: Sendable, Hashable {
    /// Seconds a request envelope stays valid, unless the batch says otherwise.
    public var requestExpiry: Double = 86_400
    /// Seconds an envelope may claim to be from the future before it is refused.
    public var maxClockSkew: Double = 300

    public init() {}

    init(_ reader: YAMLReader) throws {
        let mapping = try reader.mapping(allowed: ["request-expiry", "max-clock-skew"])
        if let expiry = mapping.optional("request-expiry") {
            requestExpiry = try expiry.seconds()
            guard requestExpiry >= 1 else { throw expiry.error("must be at least 1 second") }
        }
        if let skew = mapping.optional("max-clock-skew") {
            maxClockSkew = try skew.seconds()
        }
    }
}
