import CafeCore

/// The fields every envelope binds under its signature.
public struct EnvelopeHeader: Sendable, Hashable {
    /// Envelope format version; this code writes and reads 1.
    public static let version = 1

    public var kind: EnvelopeKind
    /// Unique id chosen by the sender (``EnvelopeID``).
    public var id: String
    /// The node where the batch began; results go home to it.
    public var origin: String
    /// The node that made and signed this envelope.
    public var sender: String
    /// The node this envelope is for; any other node refuses it.
    public var target: String
    public var created: Timestamp
    /// After this instant the envelope is refused.
    public var expires: Timestamp

    public init(
        kind: EnvelopeKind, id: String, origin: String, sender: String, target: String, created: Timestamp,
        expires: Timestamp
    ) {
        self.kind = kind
        self.id = id
        self.origin = origin
        self.sender = sender
        self.target = target
        self.created = created
        self.expires = expires
    }
}

extension EnvelopeHeader: YAMLMappingCodable {
    public static let yamlKeys = ["envelope", "kind", "id", "origin", "sender", "target", "created", "expires"]

    public var yamlPairs: [YAMLPair] {
        [
            YAMLPair("envelope", .int(Self.version)),
            YAMLPair("kind", kind.yamlValue),
            YAMLPair("id", .string(id)),
            YAMLPair("origin", .string(origin)),
            YAMLPair("sender", .string(sender)),
            YAMLPair("target", .string(target)),
            YAMLPair("created", created.yamlValue),
            YAMLPair("expires", expires.yamlValue),
        ]
    }

    public init(_ mapping: YAMLMapping) throws {
        let version = try mapping.required("envelope")
        guard try version.int() == Self.version else {
            throw version.error("unsupported envelope version (this node reads version \(Self.version))")
        }
        self.init(
            kind: try EnvelopeKind(try mapping.required("kind")), id: try mapping.required("id").envelopeID(),
            origin: try mapping.required("origin").nodeName(), sender: try mapping.required("sender").nodeName(),
            target: try mapping.required("target").nodeName(),
            created: try Timestamp(try mapping.required("created")), expires: try Timestamp(try mapping.required("expires")))
    }
}

/// Envelope ids: `20261129-153012-345-` and 16 random hex digits (sortable, unique), or any
/// token of letters, digits, `_ . -` up to 96 characters when read from a peer.
public enum EnvelopeID {
    public static func make(time: Timestamp, random: any RandomSource) -> String {
        time.compact + "-" + random.hex(8)
    }

    public static func isValid(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard !bytes.isEmpty, bytes.count <= 96 else { return false }
        return bytes.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
        } && bytes[0] != UInt8(ascii: ".")
    }
}

extension YAMLReader {
    /// An envelope id (``EnvelopeID/isValid(_:)``).
    func envelopeID() throws -> String {
        let id = try string()
        guard EnvelopeID.isValid(id) else { throw error("'\(id.prefix(100))' is not an envelope id") }
        return id
    }
}
