import CafeCore
import CafeCrypto

/// A node's statement, signed with its old key, that its key changed to a new one at a time.
/// `cafe key rotate` writes one to `keys/history/`; the node presents the chain of them in
/// every handshake and embeds it in what it signs, so a peer that pinned the old key accepts
/// the new one without editing `node.yaml`.
///
/// ```yaml
/// key-transition: 1
/// name: monk1
/// old: ed25519:BASE64
/// new: ed25519:BASE64
/// at: '2026-12-02T10:00:00.000Z'
/// signature: key-transition monk1 BASE64
/// ```
public struct KeyTransition: Sendable, Hashable {
    public static let signingContext = "key-transition"
    public static let maxBytes = 2048

    public var name: String
    public var old: PublicKey
    public var new: PublicKey
    /// Signatures by `old` made at or after this instant are refused once the transition is known.
    public var at: Timestamp
    public private(set) var bytes: [UInt8]

    /// The transition from `oldKey` to `new`, signed with `oldKey`.
    public init(name: String, oldKey: SigningKey, new: PublicKey, at: Timestamp) {
        self.name = name
        old = oldKey.publicKey
        self.new = new
        self.at = at
        bytes = SignedDocument.sign(
            [
                YAMLPair("key-transition", .int(1)),
                YAMLPair("name", .string(name)),
                YAMLPair("old", .string(old.text)),
                YAMLPair("new", .string(new.text)),
                YAMLPair("at", at.yamlValue),
            ], context: Self.signingContext, signer: name, key: oldKey)
    }

    /// Parses a transition and checks that its old key signed it.
    public init(bytes: [UInt8], source: String = "key transition") throws {
        guard bytes.count <= Self.maxBytes else {
            throw InputError(source: source, message: "is \(bytes.count) bytes; a key transition has at most \(Self.maxBytes)")
        }
        let (parts, mapping) = try SignedDocument.open(
            bytes, context: Self.signingContext, allowed: ["key-transition", "name", "old", "new", "at", "signature"], source: source)
        try SignedDocument.version(mapping, "key-transition")
        name = try SignedDocument.name(mapping, "name")
        old = try SignedDocument.key(mapping, "old")
        new = try SignedDocument.key(mapping, "new")
        at = try Timestamp(try mapping.required("at"))
        guard parts.signer == name, SignedText.holds(bytes, parts, key: old) else {
            throw InputError(source: source, message: "is not signed by the old key of \(name) it names")
        }
        self.bytes = bytes
    }
}
