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

    var yamlPairs: [YAMLPair] {
        [
            YAMLPair("envelope", .int(Self.version)),
            YAMLPair("kind", .string(kind.rawValue)),
            YAMLPair("id", .string(id)),
            YAMLPair("origin", .string(origin)),
            YAMLPair("sender", .string(sender)),
            YAMLPair("target", .string(target)),
            YAMLPair("created", .string(created.description)),
            YAMLPair("expires", .string(expires.description)),
        ]
    }

    static let yamlKeys = ["envelope", "kind", "id", "origin", "sender", "target", "created", "expires", "body", "credentials"]

    init(_ mapping: YAMLMapping) throws {
        let version = try mapping.required("envelope")
        guard try version.int() == Self.version else {
            throw version.error("unsupported envelope version (this node reads version \(Self.version))")
        }
        let kindReader = try mapping.required("kind")
        guard let kind = EnvelopeKind(rawValue: try kindReader.string()) else { throw kindReader.error("unknown kind") }
        let idReader = try mapping.required("id")
        let id = try idReader.string()
        guard EnvelopeID.isValid(id) else { throw idReader.error("is not a valid envelope id") }
        func node(_ key: String) throws -> String {
            let reader = try mapping.required(key)
            let name = try reader.string()
            guard Names.isValidNode(name) else { throw reader.error("'\(name)' is not a valid node name") }
            return name
        }
        func time(_ key: String) throws -> Timestamp {
            let reader = try mapping.required(key)
            guard let time = Timestamp(iso8601: try reader.string()) else { throw reader.error("is not a time") }
            return time
        }
        self.init(
            kind: kind, id: id, origin: try node("origin"), sender: try node("sender"), target: try node("target"),
            created: try time("created"), expires: try time("expires"))
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
