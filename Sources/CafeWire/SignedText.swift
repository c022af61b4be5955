import CafeCore
import CafeCrypto

/// The signature line that ends every signed text CafeBatch writes (envelopes and executed
/// batch files): `signature: CONTEXT SIGNER BASE64`.
///
/// The signature is Ed25519 over `CafeBatch envelope v1\nCONTEXT\n` followed by every byte
/// before the signature line, exactly as they are. The context separates the domains: a result
/// signature never verifies as a request, nor an envelope as a batch file.
public enum SignedText {
    static let linePrefix = Array("signature: ".utf8)

    /// The bytes an Ed25519 signature covers for `payload` in `context`.
    static func message(context: String, payload: ArraySlice<UInt8>) -> [UInt8] {
        let prefix = Array("CafeBatch envelope v1\n\(context)\n".utf8)
        return [UInt8](unsafeUninitializedCapacity: prefix.count + payload.count) { buffer, count in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            prefix.withUnsafeBytes { raw.copyMemory(from: $0) }
            payload.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: raw[prefix.count...]).copyMemory(from: $0) }
            count = prefix.count + payload.count
        }
    }

    /// The signature line is short: `signature: ` + context + signer + 88 characters of base64.
    static let maxLineLength = 320

    /// `payload` (which must end in a newline) followed by its signature line.
    public static func sign(_ payload: [UInt8], context: String, signer: String, key: SigningKey) -> [UInt8] {
        precondition(payload.last == UInt8(ascii: "\n"), "a signed payload ends with a newline")
        let signature = key.sign(message(context: context, payload: payload[...]))
        var bytes = payload
        bytes.append(contentsOf: linePrefix)
        bytes.append(contentsOf: "\(context) \(signer) \(Base64.encode(signature))\n".utf8)
        return bytes
    }

    /// The parts of a signed text, before the signature is checked.
    public struct Parts: Sendable {
        /// Bytes `0..<payloadEnd` are the signed payload.
        public var payloadEnd: Int
        public var context: String
        public var signer: String
        var signature: [UInt8]
    }

    /// Splits off and parses the signature line; checks nothing else.
    public static func split(_ bytes: [UInt8]) throws -> Parts {
        let newline = UInt8(ascii: "\n")
        guard bytes.count > 1, bytes.last == newline,
            let lineStart = bytes[max(0, bytes.count - 1 - maxLineLength)..<(bytes.count - 1)].lastIndex(of: newline).map({ $0 + 1 })
        else {
            throw EnvelopeError(reason: .malformed, detail: "no signature line at the end")
        }
        let line = bytes[lineStart..<(bytes.count - 1)]
        let parts = line.starts(with: linePrefix)
            ? line.dropFirst(linePrefix.count).split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false) : []
        guard parts.count == 3,
            case let context = String(decoding: parts[0], as: UTF8.self), Names.isValidRequest(context),
            case let signer = String(decoding: parts[1], as: UTF8.self), Names.isValidNode(signer),
            let signature = Base64.decode(String(decoding: parts[2], as: UTF8.self)), signature.count == 64
        else {
            throw EnvelopeError(reason: .malformed, detail: "the last line is not `signature: KIND SIGNER BASE64`")
        }
        return Parts(payloadEnd: lineStart, context: context, signer: signer, signature: signature)
    }

    /// Checks the signature of `bytes` against the signer's key in `keys`; returns the parts.
    public static func verify(_ bytes: [UInt8], keys: KeyRing) throws -> Parts {
        let parts = try split(bytes)
        guard let key = keys[parts.signer] else {
            throw EnvelopeError(reason: .unknownSigner, detail: "signed by '\(parts.signer)', a node this node has no key for")
        }
        guard key.isValidSignature(parts.signature, of: message(context: parts.context, payload: bytes[0..<parts.payloadEnd])) else {
            throw EnvelopeError(
                reason: .badSignature, detail: "the \(parts.context) signature of \(parts.signer) does not match the content")
        }
        return parts
    }
}
