import CafeCore
import CafeCrypto

/// The small signed YAML documents of the key lifecycle (``NodeCertificate``,
/// ``KeyTransition``, ``RevocationList``): a YAML mapping followed by a ``SignedText``
/// signature line, signed in a context of their own so none verifies as another.
public enum SignedDocument {
    /// The largest revocation list read (certificates and transitions are far smaller).
    public static let maxRevocationBytes = 1 << 20
    static let limits = YAMLLimits(maxBytes: maxRevocationBytes, maxDepth: 4, maxScalarBytes: 4096, maxCollectionCount: 100_000, maxNodes: 400_000)

    /// `pairs` emitted as YAML and signed by `signer` with `key` in `context`.
    static func sign(_ pairs: [YAMLPair], context: String, signer: String, key: SigningKey) -> [UInt8] {
        SignedText.sign(YAMLEmitter.bytes(.map(pairs)), context: context, signer: signer, key: key)
    }

    /// Splits off the signature line, checks the context and parses the mapping (keys limited
    /// to `allowed`, plus `signature`). Checks no signature: the caller knows which key must hold.
    static func open(
        _ bytes: [UInt8], context: String, allowed: [String], source: String
    ) throws -> (parts: SignedText.Parts, mapping: YAMLMapping) {
        let parts: SignedText.Parts
        do {
            parts = try SignedText.split(bytes)
        } catch let error as EnvelopeError {
            throw InputError(source: source, message: "is not a signed \(context) (\(error.detail))")
        }
        guard parts.context == context else {
            throw InputError(source: source, message: "is signed as '\(parts.context)', not as a \(context)")
        }
        let root = try YAMLReader.document(bytes[0..<parts.payloadEnd], limits: limits, source: source)
        return (parts, try root.mapping(allowed: allowed))
    }

    static func version(_ mapping: YAMLMapping, _ key: String) throws {
        let reader = try mapping.required(key)
        guard try reader.int() == 1 else { throw reader.error("unsupported version (this build reads 1)") }
    }

    static func name(_ mapping: YAMLMapping, _ key: String) throws -> String {
        let reader = try mapping.required(key)
        let name = try reader.string()
        guard Names.isValidNode(name) else { throw reader.error("'\(name)' is not a valid name") }
        return name
    }

    static func key(_ mapping: YAMLMapping, _ key: String) throws -> PublicKey {
        let reader = try mapping.required(key)
        do {
            return try PublicKey(text: try reader.string())
        } catch let error as CryptoError {
            throw reader.error("\(error)")
        }
    }
}

extension SignedText {
    /// True when `bytes` (split into `parts`) carry `key`'s signature.
    static func holds(_ bytes: [UInt8], _ parts: Parts, key: PublicKey) -> Bool {
        key.isValidSignature(parts.signature, of: message(context: parts.context, payload: bytes[0..<parts.payloadEnd]))
    }
}
