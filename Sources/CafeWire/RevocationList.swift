import CafeCore
import CafeCrypto

/// A fleet's signed list of revoked certificate serials, each from an instant on.
/// `cafe fleet revoke` writes it; nodes load `config/revoked.yaml` (and any
/// `config/revoked-*.yaml`, one per fleet) and refuse handshakes and signatures made with a
/// revoked certificate at or after its revocation time.
///
/// ```yaml
/// revocations: 1
/// fleet: acme
/// updated: '2026-12-02T10:00:00.000Z'
/// revoked:
///   - {serial: 17, at: '2026-12-02T09:30:00.000Z'}
/// signature: revocations acme BASE64
/// ```
public struct RevocationList: Sendable, Hashable {
    public static let signingContext = "revocations"

    public var fleet: String
    public var updated: Timestamp
    /// Serial → revoked from.
    public var revoked: [Int: Timestamp]

    public init(fleet: String, updated: Timestamp, revoked: [Int: Timestamp] = [:]) {
        self.fleet = fleet
        self.updated = updated
        self.revoked = revoked
    }

    /// The signed text, serials in order.
    public func signed(with fleetKey: SigningKey) -> [UInt8] {
        SignedDocument.sign(
            [
                YAMLPair("revocations", .int(1)),
                YAMLPair("fleet", .string(fleet)),
                YAMLPair("updated", updated.yamlValue),
                YAMLPair("revoked", .list(revoked.sorted { $0.key < $1.key }.map {
                    .map([YAMLPair("serial", .int($0.key)), YAMLPair("at", $0.value.yamlValue)])
                })),
            ], context: Self.signingContext, signer: fleet, key: fleetKey)
    }

    /// Parses a list and checks its signature against `fleetKeys` (the fleet named in it must
    /// be one of them, by name when the anchor has one).
    public init(bytes: [UInt8], fleets: [FleetAnchor], source: String) throws {
        let (parts, mapping) = try SignedDocument.open(
            bytes, context: Self.signingContext, allowed: ["revocations", "fleet", "updated", "revoked", "signature"], source: source)
        try SignedDocument.version(mapping, "revocations")
        fleet = try SignedDocument.name(mapping, "fleet")
        updated = try Timestamp(try mapping.required("updated"))
        revoked = [:]
        for item in try mapping.required("revoked").sequence() {
            let entry = try item.mapping(allowed: ["serial", "at"])
            let serial = try entry.required("serial").int()
            guard revoked[serial] == nil else { throw item.error("serial \(serial) is listed twice") }
            revoked[serial] = try Timestamp(try entry.required("at"))
        }
        let candidates = fleets.filter { $0.name == nil || $0.name == fleet }
        guard parts.signer == fleet else {
            throw InputError(source: source, message: "is signed by '\(parts.signer)', not by its fleet '\(fleet)'")
        }
        guard !candidates.isEmpty else {
            throw InputError(source: source, message: "lists revocations of fleet '\(fleet)', which is not in node.yaml's fleets:")
        }
        guard candidates.contains(where: { SignedText.holds(bytes, parts, key: $0.key) }) else {
            throw InputError(source: source, message: "its signature does not hold for the key of fleet '\(fleet)'")
        }
    }
}

/// The revocations a node or a verifier knows, by fleet and serial.
public struct RevocationIndex: Sendable, Hashable {
    /// The newest list of each fleet.
    public private(set) var lists: [String: RevocationList]

    public init(_ lists: [RevocationList] = []) {
        var byFleet: [String: RevocationList] = [:]
        for list in lists {
            // Two lists of one fleet: the newer one holds every revocation of the older.
            if let known = byFleet[list.fleet], known.updated >= list.updated { continue }
            byFleet[list.fleet] = list
        }
        self.lists = byFleet
    }

    public func revokedAt(fleet: String, serial: Int) -> Timestamp? { lists[fleet]?.revoked[serial] }

    public var isEmpty: Bool { lists.isEmpty }
}

/// A fleet key a node or a verifier accepts certificates from: `fleets:` in `node.yaml` names
/// it; `cafe verify --fleet KEY` gives only the key (any fleet name).
public struct FleetAnchor: Sendable, Hashable {
    public var name: String?
    public var key: PublicKey

    public init(name: String?, key: PublicKey) {
        self.name = name
        self.key = key
    }
}
