import CafeCore
import CafeCrypto

/// What a node shows, besides its signature, to prove its key to nodes that did not pin it: its
/// fleet certificate (`keys/node.cert`) and the chain of its key transitions
/// (`keys/history/*.transition`), oldest first. Carried in the handshake and, as one
/// `credentials: BASE64` line before the signature line, in every envelope and executed
/// batch file the node signs.
public struct Credentials: Sendable, Hashable {
    /// Transitions kept in the chain a node presents: older ones are dropped (a peer that
    /// pinned a key older than that must be given the new key by hand).
    public static let maxTransitions = 8
    /// The largest encoded credentials read.
    public static let maxBytes = NodeCertificate.maxBytes + maxTransitions * KeyTransition.maxBytes

    public var certificate: NodeCertificate?
    public var transitions: [KeyTransition]

    public init(certificate: NodeCertificate? = nil, transitions: [KeyTransition] = []) {
        self.certificate = certificate
        self.transitions = Array(transitions.suffix(Self.maxTransitions))
    }

    public var isEmpty: Bool { certificate == nil && transitions.isEmpty }

    /// The certificate's text followed by each transition's.
    public var encoded: [UInt8] {
        (certificate?.bytes ?? []) + transitions.flatMap(\.bytes)
    }

    /// Splits `bytes` into signed texts (each ends with its signature line) and reads each as a
    /// certificate or a transition. A transition whose old key did not sign it is refused.
    public init(encoded bytes: [UInt8], source: String = "credentials") throws {
        guard bytes.count <= Self.maxBytes else {
            throw InputError(source: source, message: "are \(bytes.count) bytes; at most \(Self.maxBytes)")
        }
        var certificate: NodeCertificate?
        var transitions: [KeyTransition] = []
        var start = 0
        var lineStart = 0
        for index in bytes.indices where bytes[index] == UInt8(ascii: "\n") {
            defer { lineStart = index + 1 }
            guard bytes[lineStart...index].starts(with: SignedText.linePrefix) else { continue }
            let text = Array(bytes[start...index])
            start = index + 1
            let parts = try SignedText.split(text)
            switch parts.context {
            case NodeCertificate.signingContext where certificate == nil && transitions.isEmpty:
                certificate = try NodeCertificate(bytes: text, source: source)
            case KeyTransition.signingContext where transitions.count < Self.maxTransitions:
                transitions.append(try KeyTransition(bytes: text, source: source))
            default:
                throw InputError(source: source, message: "hold an unexpected '\(parts.context)' (a certificate first, then at most \(Self.maxTransitions) key transitions)")
            }
        }
        guard start == bytes.count else { throw InputError(source: source, message: "end in the middle of a signed text") }
        self.init(certificate: certificate, transitions: transitions)
    }
}
