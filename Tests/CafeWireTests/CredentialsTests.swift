import CafeCore
import CafeCrypto
import CafeWire
import Testing

/// Fleet certificates, key transitions and revocation lists, checked the way a node and
/// `cafe verify` check them: each rule with the signature that must pass and the one that
/// must not.
@Suite("fleet certificates and key lifecycle")
struct CredentialsTests {
    let fleet: SigningKey
    let monk1: SigningKey
    let now = Timestamp(iso8601: "2026-12-02T10:00:00.000Z")!
    var day: Double { 86_400 }

    init() throws {
        fleet = try SigningKey.generate()
        monk1 = try SigningKey.generate()
    }

    func certificate(
        _ name: String = "monk1", key: PublicKey? = nil, tags: [String] = ["web"], serial: Int = 7, from: Timestamp? = nil,
        days: Double = 30, by signer: SigningKey? = nil
    ) -> NodeCertificate {
        let start = from ?? now.adding(seconds: -day)
        return NodeCertificate(
            fleet: "acme", name: name, key: key ?? monk1.publicKey, tags: tags, notBefore: start,
            notAfter: start.adding(seconds: days * day), serial: serial, fleetKey: signer ?? fleet)
    }

    /// A result envelope by monk1, signed with `key`, made at `created`, carrying `credentials`.
    func envelope(key: SigningKey, created: Timestamp? = nil, credentials: Credentials?) -> [UInt8] {
        let at = created ?? now
        let header = EnvelopeHeader(
            kind: .result, id: "20261202-100000-000-00112233aabbccdd", origin: "jlore", sender: "monk1", target: "jlore",
            created: at, expires: at.adding(seconds: 3600))
        let body = ResultBody(
            batch: "20261202-100000-000-9f2c1a7be301", index: 0, request: "provision", answers: "20261202-100000-000-0000000000000001",
            result: HostResult(host: "monk1", state: .ok))
        return Envelope.seal(header: header, body: .result(body), key: key, credentials: credentials).bytes
    }

    func fleetRing(revoked: [Int: Timestamp] = [:]) throws -> KeyRing {
        var ring = KeyRing(fleets: [FleetAnchor(name: "acme", key: fleet.publicKey)])
        if !revoked.isEmpty {
            let list = RevocationList(fleet: "acme", updated: now, revoked: revoked)
            ring.revocations = RevocationIndex([try RevocationList(bytes: list.signed(with: fleet), fleets: ring.fleets, source: "revoked.yaml")])
        }
        return ring
    }

    /// Why `keys` refuse `bytes`, or nil when they accept them.
    func refusal(_ bytes: [UInt8], _ keys: KeyRing) -> EnvelopeError? {
        do {
            _ = try Envelope.open(bytes, keys: keys)
            return nil
        } catch {
            return error as? EnvelopeError
        }
    }

    @Test("a certificate reads back as it was signed, and any edit to it breaks the fleet's signature")
    func certificateRoundTrip() throws {
        let signed = certificate(tags: ["web", "eu"])
        let read = try NodeCertificate(bytes: signed.bytes)
        #expect(read == signed && read.tags == ["web", "eu"] && read.serial == 7)
        #expect(read.signed(by: fleet.publicKey))
        #expect(!read.signed(by: monk1.publicKey))
        let text = String(decoding: signed.bytes, as: UTF8.self)
        let forged = try NodeCertificate(bytes: Array(text.replacing("[web, eu]", with: "[ops, eu]").utf8))
        #expect(!forged.signed(by: fleet.publicKey), "a tag added by hand must not verify")
        #expect(throws: (any Error).self) { try NodeCertificate(bytes: Array(text.replacing("certificate acme", with: "key-transition acme").utf8)) }
    }

    @Test("a signer with no pinned key is proven by a certificate of a trusted fleet, and by nothing else")
    func certifiedSigner() throws {
        let credentials = Credentials(certificate: certificate())
        let opened = try Envelope.open(envelope(key: monk1, credentials: credentials), keys: try fleetRing())
        #expect(opened.signer?.certified == true && opened.signer?.tags == ["web"])
        // No certificate, another fleet, a certificate for another name, a signature by another key.
        #expect(refusal(envelope(key: monk1, credentials: nil), try fleetRing())?.reason == .unknownSigner)
        let stranger = try SigningKey.generate()
        #expect(refusal(envelope(key: monk1, credentials: Credentials(certificate: certificate(by: stranger))), try fleetRing())?.reason == .unknownSigner)
        #expect(refusal(envelope(key: monk1, credentials: Credentials(certificate: certificate("cluster1"))), try fleetRing())?.reason == .unknownSigner)
        #expect(refusal(envelope(key: stranger, credentials: credentials), try fleetRing())?.reason == .badSignature)
    }

    @Test("a certificate holds only for signatures made inside its validity and before its revocation")
    func validityAndRevocation() throws {
        let credentials = Credentials(certificate: certificate(days: 30))
        #expect(refusal(envelope(key: monk1, created: now.adding(seconds: 40 * day), credentials: credentials), try fleetRing())?.reason == .credential)
        #expect(refusal(envelope(key: monk1, created: now.adding(seconds: -2 * day), credentials: credentials), try fleetRing())?.reason == .credential)
        let revokedAt = now.adding(seconds: day)
        let ring = try fleetRing(revoked: [7: revokedAt])
        #expect(refusal(envelope(key: monk1, credentials: credentials), ring) == nil, "signed before the revocation: still valid")
        let late = refusal(envelope(key: monk1, created: revokedAt, credentials: credentials), ring)
        #expect(late?.reason == .credential && late?.detail.contains("revoked") == true, "\(String(describing: late))")
        #expect(refusal(envelope(key: monk1, credentials: Credentials(certificate: certificate(serial: 8))), ring) == nil, "another serial is not revoked")
    }

    @Test("a pinned key wins over a certificate; a certificate of the pinned key still gives its tags")
    func pinnedWins() throws {
        var ring = try fleetRing()
        let other = try SigningKey.generate()
        ring.keys["monk1"] = other.publicKey
        // monk1's certificate says monk1.publicKey, but the node pinned another key.
        #expect(refusal(envelope(key: monk1, credentials: Credentials(certificate: certificate())), ring)?.reason == .badSignature)
        ring.keys["monk1"] = monk1.publicKey
        let opened = try Envelope.open(envelope(key: monk1, credentials: Credentials(certificate: certificate(tags: ["ops"]))), keys: ring)
        #expect(opened.signer?.certified == false && opened.signer?.tags == ["ops"])
        // An expired certificate gives no tags, but the pinned key still verifies.
        let expired = try Envelope.open(
            envelope(key: monk1, credentials: Credentials(certificate: certificate(from: now.adding(seconds: -40 * day), days: 30))), keys: ring)
        #expect(expired.signer?.tags == [])
    }

    @Test("a key transition signed by the pinned key moves it on; the old key verifies only what it signed before")
    func transitions() throws {
        let new = try SigningKey.generate()
        let at = now.adding(seconds: -3600)
        let transition = KeyTransition(name: "monk1", oldKey: monk1, new: new.publicKey, at: at)
        let ring = KeyRing(keys: ["monk1": monk1.publicKey])
        let moved = try Envelope.open(envelope(key: new, credentials: Credentials(transitions: [transition])), keys: ring)
        #expect(moved.signer?.key == new.publicKey)
        #expect(refusal(envelope(key: new, credentials: nil), ring)?.reason == .badSignature, "without the transition the new key is unknown")
        // The old key after the transition: refused; before it: still good.
        #expect(refusal(envelope(key: monk1, credentials: Credentials(transitions: [transition])), ring)?.reason == .credential)
        #expect(refusal(envelope(key: monk1, created: at.adding(seconds: -60), credentials: Credentials(transitions: [transition])), ring) == nil)
        // A learned transition: the new key is pinned, the old one retired.
        var learned = ring
        let changed = learned.learn(transition)
        #expect(changed)
        #expect(learned["monk1"] == new.publicKey)
        #expect(refusal(envelope(key: new, credentials: nil), learned) == nil)
        #expect(refusal(envelope(key: monk1, created: at.adding(seconds: -60), credentials: nil), learned) == nil)
        #expect(refusal(envelope(key: monk1, credentials: nil), learned)?.reason == .credential)
        // A transition not signed by the old key it names does not read at all.
        let thief = try SigningKey.generate()
        let forged = KeyTransition(name: "monk1", oldKey: thief, new: thief.publicKey, at: at)
        let text = String(decoding: forged.bytes, as: UTF8.self).replacing("old: '\(thief.publicKey.text)'", with: "old: '\(monk1.publicKey.text)'")
        #expect(text != String(decoding: forged.bytes, as: UTF8.self))
        #expect(throws: (any Error).self) { try KeyTransition(bytes: Array(text.utf8)) }
    }

    @Test("credentials are signed with the text: swapping them breaks the signature")
    func credentialsAreSigned() throws {
        let bytes = envelope(key: monk1, credentials: Credentials(certificate: certificate(tags: ["web"])))
        let other = Credentials(certificate: certificate(tags: ["root"]))
        var text = String(decoding: bytes, as: UTF8.self)
        let line = text.split(separator: "\n").first { $0.hasPrefix("credentials: ") }!
        text = text.replacing(String(line), with: "credentials: " + Base64.encode(other.encoded))
        #expect(refusal(Array(text.utf8), try fleetRing())?.reason == .badSignature)
    }

    @Test("a revocation list is refused unless its fleet's key signed it")
    func revocationListSignature() throws {
        let list = RevocationList(fleet: "acme", updated: now, revoked: [3: now])
        let anchors = [FleetAnchor(name: "acme", key: fleet.publicKey)]
        #expect(try RevocationList(bytes: list.signed(with: fleet), fleets: anchors, source: "r").revoked == [3: now])
        #expect(throws: InputError.self) { try RevocationList(bytes: list.signed(with: monk1), fleets: anchors, source: "r") }
        let edited = String(decoding: list.signed(with: fleet), as: UTF8.self).replacing("serial: 3", with: "serial: 4")
        #expect(throws: InputError.self) { try RevocationList(bytes: Array(edited.utf8), fleets: anchors, source: "r") }
    }

    @Test("handshakes: a certified peer links without a pinned key; an expired or revoked certificate gets no link")
    func handshakes() throws {
        let jlore = try SigningKey.generate()
        var ring = try fleetRing()
        ring.keys["jlore"] = jlore.publicKey
        func link(_ credentials: Credentials, keys: KeyRing) throws -> LinkPeer {
            let initiator = try LinkInitiator(name: "monk1", key: monk1, credentials: credentials, peer: "jlore", keys: KeyRing(keys: ["jlore": jlore.publicKey]), now: now)
            let answered = try LinkResponder(name: "jlore", key: jlore, keys: keys, now: now).answer(initiator.first)
            let (third, _) = try initiator.finish(answered.second)
            return try answered.finish(third).peer
        }
        let peer = try link(Credentials(certificate: certificate()), keys: ring)
        #expect(peer.name == "monk1" && peer.proof.certified && peer.proof.tags == ["web"])
        #expect(throws: LinkHandshakeError.self) { try link(Credentials(), keys: ring) }
        #expect(throws: LinkHandshakeError.self) { try link(Credentials(certificate: certificate(from: now.adding(seconds: -40 * day))), keys: ring) }
        #expect(throws: LinkHandshakeError.self) { try link(Credentials(certificate: certificate()), keys: try fleetRing(revoked: [7: now.adding(seconds: -60)]).with(jlore: jlore)) }
    }

    @Test("an executed batch file carries the origin's certificate and verifies with only the fleet key")
    func executedFile() throws {
        var batch = Batch(
            id: BatchID(validating: "20261202-100000-000-9f2c1a7be301")!, name: "b", origin: "monk1", created: now,
            requests: [])
        batch.state = .error  // no requests: nothing succeeded
        batch.finished = now
        let bytes = batch.signedExecutedYAML(key: monk1, credentials: Credentials(certificate: certificate()))
        let report = try BatchVerifier.verify(bytes, keys: try fleetRing(), source: "b.yaml")
        #expect(report.passed, "\(report.verdicts)")
        #expect(!(try BatchVerifier.verify(bytes, keys: KeyRing(fleets: [FleetAnchor(name: nil, key: monk1.publicKey)]), source: "b.yaml")).passed)
    }
}

extension KeyRing {
    func with(jlore: SigningKey) -> KeyRing {
        var ring = self
        ring.keys["jlore"] = jlore.publicKey
        return ring
    }
}
