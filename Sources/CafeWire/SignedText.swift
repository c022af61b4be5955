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

    /// `payload` (which must end in a newline), the signer's `credentials` line if it has any,
    /// and the signature line. The credentials line is signed with the rest: a top-level YAML
    /// key `credentials:` whose value is the base64 of ``Credentials/encoded``.
    public static func sign(_ payload: [UInt8], context: String, signer: String, key: SigningKey, credentials: Credentials? = nil) -> [UInt8] {
        precondition(payload.last == UInt8(ascii: "\n"), "a signed payload ends with a newline")
        var payload = payload
        if let credentials, !credentials.isEmpty {
            payload.append(contentsOf: credentialsPrefix)
            payload.append(contentsOf: Base64.encode(credentials.encoded).utf8)
            payload.append(UInt8(ascii: "\n"))
        }
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
        /// The `credentials:` line just before the signature line, decoded (not yet checked).
        public var credentials: Credentials?
        var signature: [UInt8]
    }

    static let credentialsPrefix = Array("credentials: ".utf8)
    /// The longest credentials line: the base64 of the largest credentials and its key.
    static let maxCredentialsLine = credentialsPrefix.count + (Credentials.maxBytes + 2) / 3 * 4

    /// The credentials on the line that ends at `end` (the start of the signature line), if
    /// that line is a credentials line.
    static func credentials(_ bytes: [UInt8], endingAt end: Int) throws -> Credentials? {
        guard end >= 2 else { return nil }
        let newline = UInt8(ascii: "\n")
        let window = max(0, end - 1 - maxCredentialsLine)
        guard let start = bytes[window..<(end - 1)].lastIndex(of: newline).map({ $0 + 1 }) ?? (window == 0 ? 0 : nil) else { return nil }
        let line = bytes[start..<(end - 1)]
        guard line.starts(with: credentialsPrefix) else { return nil }
        return try CredentialCache.shared.credentials(line: line) {
            guard let encoded = Base64.decode(String(decoding: line.dropFirst(credentialsPrefix.count), as: UTF8.self)) else {
                throw EnvelopeError(reason: .malformed, detail: "the credentials line is not base64")
            }
            do {
                return try Credentials(encoded: encoded)
            } catch {
                throw EnvelopeError(reason: .malformed, detail: "credentials: \(error)")
            }
        }
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
        return Parts(
            payloadEnd: lineStart, context: context, signer: signer, credentials: try credentials(bytes, endingAt: lineStart),
            signature: signature)
    }

    /// Checks the signature of `bytes` against the signer's keys in `keys` (pinned, moved on by
    /// a transition, retired, or certified by a fleet); returns the parts and the key that
    /// held. The caller checks the proof at the time the signed text says it was made
    /// (``SignerProof/checked(at:)``).
    public static func verify(_ bytes: [UInt8], keys: KeyRing) throws -> (parts: Parts, proof: SignerProof) {
        let parts = try split(bytes)
        let signed = message(context: parts.context, payload: bytes[0..<parts.payloadEnd])
        guard let proof = try keys.proofs(for: parts.signer, credentials: parts.credentials).first(where: { $0.key.isValidSignature(parts.signature, of: signed) }) else {
            throw EnvelopeError(
                reason: .badSignature, detail: "the \(parts.context) signature of \(parts.signer) does not match the content")
        }
        return (parts, proof)
    }
}
