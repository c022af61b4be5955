import CafeCore
import CafeCrypto

/// A fleet key's statement that `key` is node `name`'s key, with its tags, for a time.
/// `cafe fleet sign` prints one; a node keeps it in `keys/node.cert`, presents it in every
/// handshake and embeds it in everything it signs, so a peer that lists the fleet's key in
/// `fleets:` needs no `key:` line for the node, and `cafe verify --fleet` needs no node home.
///
/// ```yaml
/// certificate: 1
/// fleet: acme
/// name: web01
/// key: ed25519:BASE64
/// tags: [web, eu]
/// not-before: '2026-12-02T10:00:00.000Z'
/// not-after: '2027-12-02T10:00:00.000Z'
/// serial: 17
/// signature: certificate acme BASE64
/// ```
public struct NodeCertificate: Sendable, Hashable {
    public static let signingContext = "certificate"
    /// The longest certificate text read (tags included).
    public static let maxBytes = 4096

    public var fleet: String
    public var name: String
    public var key: PublicKey
    public var tags: [String]
    public var notBefore: Timestamp
    public var notAfter: Timestamp
    /// Chosen by the fleet operator's `cafe fleet sign`; what `cafe fleet revoke` names.
    public var serial: Int
    /// The signed text, exactly as the fleet key signed it.
    public private(set) var bytes: [UInt8]

    /// Signs a certificate with the fleet's key.
    public init(
        fleet: String, name: String, key: PublicKey, tags: [String], notBefore: Timestamp, notAfter: Timestamp, serial: Int,
        fleetKey: SigningKey
    ) {
        self.fleet = fleet
        self.name = name
        self.key = key
        self.tags = tags
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.serial = serial
        bytes = SignedDocument.sign(
            [
                YAMLPair("certificate", .int(1)),
                YAMLPair("fleet", .string(fleet)),
                YAMLPair("name", .string(name)),
                YAMLPair("key", .string(key.text)),
                YAMLPair("tags", .list(tags.map { .string($0) })),
                YAMLPair("not-before", notBefore.yamlValue),
                YAMLPair("not-after", notAfter.yamlValue),
                YAMLPair("serial", .int(serial)),
            ], context: Self.signingContext, signer: fleet, key: fleetKey)
    }

    /// Parses a certificate; its fleet signature is checked by ``signed(by:)``.
    public init(bytes: [UInt8], source: String = "certificate") throws {
        guard bytes.count <= Self.maxBytes else {
            throw InputError(source: source, message: "is \(bytes.count) bytes; a certificate has at most \(Self.maxBytes)")
        }
        let (parts, mapping) = try SignedDocument.open(
            bytes, context: Self.signingContext,
            allowed: ["certificate", "fleet", "name", "key", "tags", "not-before", "not-after", "serial", "signature"], source: source)
        try SignedDocument.version(mapping, "certificate")
        fleet = try SignedDocument.name(mapping, "fleet")
        guard parts.signer == fleet else { throw InputError(source: source, message: "is signed by '\(parts.signer)', not by its fleet '\(fleet)'") }
        name = try SignedDocument.name(mapping, "name")
        key = try SignedDocument.key(mapping, "key")
        let tagsReader = try mapping.required("tags")
        tags = try tagsReader.stringList()
        for tag in tags where !Self.isValidTag(tag) {
            throw tagsReader.error("'\(tag)' is not a tag (letters, digits, _ . -)")
        }
        notBefore = try Timestamp(try mapping.required("not-before"))
        notAfter = try Timestamp(try mapping.required("not-after"))
        serial = try mapping.required("serial").int()
        self.bytes = bytes
    }

    /// True when `fleetKey` signed this certificate.
    public func signed(by fleetKey: PublicKey) -> Bool {
        guard let parts = try? SignedText.split(bytes) else { return false }
        return SignedText.holds(bytes, parts, key: fleetKey)
    }

    /// Why this certificate does not hold at `time`, or nil when it does.
    public func problem(at time: Timestamp, revocations: RevocationIndex) -> String? {
        problem(at: time, revokedAt: revocations.revokedAt(fleet: fleet, serial: serial))
    }

    func problem(at time: Timestamp, revokedAt revoked: Timestamp?) -> String? {
        if time < notBefore { return "certificate \(fleet) #\(serial) of \(name) is not valid before \(notBefore)" }
        if time > notAfter { return "certificate \(fleet) #\(serial) of \(name) expired at \(notAfter)" }
        if let revoked, time >= revoked {
            return "certificate \(fleet) #\(serial) of \(name) was revoked at \(revoked)"
        }
        return nil
    }

    /// Tags as in `trust.yaml`'s `tag:T` grants and delivery selectors.
    public static func isValidTag(_ tag: String) -> Bool { Names.isValidNode(tag) }

    /// One line for logs and reports: `acme #17 (web, eu; until 2027-12-02T10:00:00.000Z)`.
    public var summary: String {
        "\(fleet) #\(serial)\(tags.isEmpty ? "" : " [" + tags.joined(separator: ", ") + "]") until \(notAfter)"
    }
}
