import CafeCore

/// One signed message between nodes, and also a file in a drop-box or a result in an executed
/// batch file. Its ``bytes`` are readable YAML:
///
/// ```yaml
/// envelope: 1
/// kind: result
/// id: 20261129-153012-345-5be0c2a41f9d7e63
/// origin: jlore
/// sender: monk1
/// target: jlore
/// created: '2026-11-29T15:30:12.345Z'
/// expires: '2026-11-30T15:30:12.345Z'
/// body:
///   batch: 20261129-153012-301-9f2c1a7be301
///   ...
/// signature: result monk1 BASE64
/// ```
///
/// The last line is the signature: kind, signer, and the Ed25519 signature of
/// `CafeBatch envelope v1\nKIND\n` followed by every byte before that line. The bytes are
/// signed and verified exactly as they are, never re-serialised.
public struct Envelope: Sendable, Hashable {
    public var header: EnvelopeHeader
    public var body: EnvelopeBody
    /// The signed text, exactly as it was signed.
    public var bytes: [UInt8]
    /// The key that verified it and why (nil for an envelope this node made or decoded unverified).
    public var signer: SignerProof?

    init(header: EnvelopeHeader, body: EnvelopeBody, bytes: [UInt8], signer: SignerProof? = nil) {
        self.header = header
        self.body = body
        self.bytes = bytes
        self.signer = signer
    }

    /// Two envelopes are the same when their signed bytes are (the header and body are read
    /// from them; how this node found the signer's key is not part of the envelope).
    public static func == (lhs: Envelope, rhs: Envelope) -> Bool { lhs.bytes == rhs.bytes }

    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }

    /// The text of ``bytes``.
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Size and shape limits for envelopes, applied before and while they are parsed.
public enum EnvelopeLimits {
    /// Largest envelope: 16 MiB (a result with several commands' full output).
    public static let maxBytes = 16 << 20

    static let yaml = YAMLLimits(
        maxBytes: maxBytes, maxDepth: 24, maxScalarBytes: maxBytes, maxCollectionCount: 100_000, maxNodes: 1_000_000)
}

/// Why an envelope was refused. The description is what a node logs.
public struct EnvelopeError: Error, Sendable, CustomStringConvertible, ExitCoded {
    public enum Reason: String, Sendable {
        case tooLarge = "too large"
        case malformed
        case unknownSigner = "unknown signer"
        case badSignature = "bad signature"
        case mismatch
        /// The key's certificate was expired, not yet valid or revoked, or the key had been
        /// replaced, at the time the envelope says it was signed.
        case credential = "credential refused"
    }

    public var reason: Reason
    public var detail: String

    public var description: String { "\(reason.rawValue): \(detail)" }
    public var exitStatus: Int32 { 1 }
}
