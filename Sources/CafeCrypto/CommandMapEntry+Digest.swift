import CafeCore

extension CommandMapEntry {
    /// `sha256:HEX` of ``canonicalYAML``: what a plan records for this entry, what a request
    /// planned with it must still find on its host, and what a signed result says it ran.
    public var digest: String { SHA256.digest(canonicalYAML) }
}
