import CafeCore
import CafeCrypto

extension Envelope {
    /// Encodes `body` under `header` and signs the exact bytes with `key`.
    /// The sender's `credentials` (certificate, key transitions) travel in the signed bytes.
    public static func seal(header: EnvelopeHeader, body: EnvelopeBody, key: SigningKey, credentials: Credentials? = nil) -> Envelope {
        precondition(header.kind == body.kind, "envelope header kind \(header.kind) does not match its body")
        let payload = YAMLEmitter.bytes(.map(header.yamlPairs + [YAMLPair("body", body.yamlValue)]))
        let bytes = SignedText.sign(payload, context: header.kind.rawValue, signer: header.sender, key: key, credentials: credentials)
        return Envelope(header: header, body: body, bytes: bytes)
    }

    /// Verifies the signature of `bytes` against `keys` and only then parses them.
    ///
    /// Checks, in order: size; the signature line; that the signer is known; the signature over
    /// the exact payload in the signing context of the claimed kind; then the YAML (hardened
    /// parser: no anchors, aliases or tags, bounded depth and sizes, unknown fields refused);
    /// then that the header's kind and sender are the ones the signature line named; finally
    /// that the key was valid at the header's `created` time (certificate validity and
    /// revocation, key transitions).
    /// Freshness (expiry, skew, target, replay) is ``ReplayWindow``'s job.
    public static func open(_ bytes: [UInt8], keys: KeyRing, source: String = "envelope") throws -> Envelope {
        guard bytes.count <= EnvelopeLimits.maxBytes else {
            throw EnvelopeError(reason: .tooLarge, detail: "\(bytes.count) bytes, limit \(EnvelopeLimits.maxBytes)")
        }
        let (parts, proof) = try SignedText.verify(bytes, keys: keys)
        guard let kind = EnvelopeKind(rawValue: parts.context) else {
            throw EnvelopeError(reason: .malformed, detail: "'\(parts.context)' is not an envelope kind")
        }
        let header: EnvelopeHeader
        let body: EnvelopeBody
        do {
            (header, body) = try decode(bytes[0..<parts.payloadEnd], source: source)
        } catch let error as InputError {
            throw EnvelopeError(reason: .malformed, detail: error.description)
        }
        guard header.kind == kind, header.sender == parts.signer else {
            throw EnvelopeError(
                reason: .mismatch,
                detail: "signature line says \(kind.rawValue) by \(parts.signer), header says \(header.kind.rawValue) by \(header.sender)")
        }
        return Envelope(header: header, body: body, bytes: bytes, signer: try proof.checked(at: header.created))
    }
}

extension Envelope {
    /// Parses a signed text without checking its signature, for display only (`cafe show` on a
    /// file whose signers this node does not know). Never act on what it returns.
    public static func decodeUnverified(_ bytes: [UInt8]) throws -> Envelope {
        let parts = try SignedText.split(bytes)
        let (header, body) = try decode(bytes[0..<parts.payloadEnd], source: "envelope")
        return Envelope(header: header, body: body, bytes: bytes)
    }

    /// The keys of an envelope: its header's, its body, and the sender's credentials.
    static let yamlKeys = EnvelopeHeader.yamlKeys + ["body", "credentials"]

    /// The header and body of an envelope's payload (the bytes before its signature line).
    private static func decode(_ payload: ArraySlice<UInt8>, source: String) throws -> (EnvelopeHeader, EnvelopeBody) {
        let mapping = try YAMLReader.document(payload, limits: EnvelopeLimits.yaml, source: source).mapping(allowed: yamlKeys)
        let header = try EnvelopeHeader(mapping)
        return (header, try EnvelopeBody(kind: header.kind, try mapping.required("body")))
    }
}
