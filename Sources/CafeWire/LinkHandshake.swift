import CafeCore
import CafeCrypto

/// The handshake that opens every TCP link: SIGMA-I (Krawczyk, "SIGMA: the 'SIGn-and-MAc'
/// approach to authenticated Diffie-Hellman", CRYPTO 2003, the variant that protects the
/// initiator's identity, as IKEv2 uses it), on libsodium primitives:
///
/// ```
/// 1  I → R   "CAFE-LINK-1" ‖ eI ‖ nI
/// 2  R → I   eR ‖ nR ‖ AEAD(kR(h1), ad h1; nameR ‖ sigR(h1 ‖ nameR ‖ credR) ‖ credR)
/// 3  I → R   AEAD(kI(h2), ad h2; nameI ‖ sigI(h2 ‖ nameI ‖ credI) ‖ credI)
///    h1 = H(label, message 1, eR, nR)   h2 = H(h1, message 2)   h3 = H(h2, message 3)
/// ```
///
/// `eI`, `eR` are fresh X25519 keys and `nI`, `nR` fresh 32-byte nonces; `kI`, `kR` the two
/// directional keys `crypto_kx` derives from them. Each side signs, with its long-term Ed25519
/// key, a transcript hash holding both ephemeral keys and both nonces, so a recorded message
/// is worth nothing in another handshake; each side's name and signature travel sealed under a
/// key only the holder of the other ephemeral secret can derive (the "MAC" of SIGMA), so a
/// passive tap sees no name. `cred` is a node's ``Credentials`` (fleet certificate, key
/// transitions; empty when it has none), checked against the peer's ``KeyRing`` at the time of
/// the handshake: a pinned key wins, a certificate must be valid and not revoked now, and a
/// key transition signed by the pinned key moves it on. The traffic keys are `kI` and `kR` re-derived with `h3`; the
/// ephemeral secrets are wiped after the handshake (forward secrecy).
public enum LinkHandshake {
    static let magic = Array("CAFE-LINK-1".utf8)
    static let label = Array("cafe link v1".utf8)
    static let nonceBytes = 32
    static let signatureBytes = 64
    /// The size of message 1; larger frames are refused before the handshake completes.
    public static let firstMessageBytes = magic.count + EphemeralKeyPair.publicKeyBytes + nonceBytes
    /// Frames the handshake may take before the link is up (message 1 or 2, message 3, the
    /// peer's stream header), each below ``maxMessageBytes`` (credentials included).
    public static let maxMessageBytes = 1024 + Credentials.maxBytes

    static func context(_ text: String, _ hash: [UInt8]) -> [UInt8] { label + Array(" \(text)\0".utf8) + hash }

    /// `name ‖ signature of (purpose, transcript, name, credentials) ‖ credentials`, sealed under `key`.
    static func identity(
        _ name: String, key: SigningKey, credentials: Credentials, purpose: String, transcript: [UInt8], sealing: SessionKey
    ) -> [UInt8] {
        let nameBytes = Array(name.utf8)
        let encoded = credentials.encoded
        let signature = key.sign(context(purpose, transcript) + nameBytes + encoded)
        return AEAD.seal([UInt8(nameBytes.count)] + nameBytes + signature + encoded, key: sealing, associated: transcript)
    }

    /// Opens and checks a sealed identity: the name's key must be pinned or proven by the
    /// credentials, valid `now`, and its signature must cover this transcript.
    static func checkIdentity(
        _ sealed: [UInt8], purpose: String, transcript: [UInt8], sealing: SessionKey, keys: KeyRing, now: Timestamp
    ) throws -> LinkPeer {
        guard let plain = AEAD.open(sealed, key: sealing, associated: transcript) else {
            throw LinkHandshakeError("the peer's identity did not open: the handshake was altered, replayed, or is not with this connection's peer")
        }
        guard let count = plain.first.map(Int.init), plain.count >= 1 + count + signatureBytes,
            let name = String(validating: plain[1..<(1 + count)], as: UTF8.self), Names.isValidNode(name)
        else { throw LinkHandshakeError("the peer's identity is malformed") }
        let signature = Array(plain[(1 + count)..<(1 + count + signatureBytes)])
        let encoded = Array(plain[(1 + count + signatureBytes)...])
        let credentials: Credentials
        do {
            credentials = try Credentials(encoded: encoded, source: "\(name)'s credentials")
        } catch {
            throw LinkHandshakeError("\(error)")
        }
        let signed = context(purpose, transcript) + Array(name.utf8) + encoded
        let proofs: [SignerProof]
        do {
            proofs = try keys.proofs(for: name, credentials: credentials)
        } catch {
            throw LinkHandshakeError("\(error.reason.rawValue): \(error.detail)")
        }
        guard let proof = proofs.first(where: { $0.key.isValidSignature(signature, of: signed) }) else {
            throw LinkHandshakeError("bad signature: \(name)'s handshake signature does not hold")
        }
        do {
            return LinkPeer(name: name, proof: try proof.checked(at: now), credentials: credentials)
        } catch {
            throw LinkHandshakeError("\(error.reason.rawValue): \(error.detail)")
        }
    }
}

/// Who the peer of a handshake proved to be: its name, the key that held and why, and the
/// credentials it presented (for the node to learn certificates and key transitions from).
public struct LinkPeer: Sendable {
    public let name: String
    public let proof: SignerProof
    public let credentials: Credentials
}

/// What a finished handshake gives: who the peer is, and a stream to send and to receive on.
public struct LinkSecrets: Sendable {
    public let peer: LinkPeer
    public let sendKey: SessionKey
    public let receiveKey: SessionKey
}

/// A handshake that did not complete; the connection is closed.
public struct LinkHandshakeError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The side that opened the connection, to a peer it named.
public struct LinkInitiator: Sendable {
    let name: String
    let key: SigningKey
    let credentials: Credentials
    let expected: String
    let keys: KeyRing
    let now: Timestamp
    let ephemeral: EphemeralKeyPair
    /// Message 1, to send first.
    public let first: [UInt8]

    public init(
        name: String, key: SigningKey, credentials: Credentials = Credentials(), peer expected: String, keys: KeyRing, now: Timestamp
    ) throws {
        self.name = name
        self.key = key
        self.credentials = credentials
        self.expected = expected
        self.keys = keys
        self.now = now
        ephemeral = try EphemeralKeyPair()
        first = LinkHandshake.magic + ephemeral.publicKey + TranscriptHash.random(LinkHandshake.nonceBytes)
    }

    /// Checks message 2 and returns message 3 (to send) and the link.
    public func finish(_ second: [UInt8]) throws -> (third: [UInt8], link: LinkSecrets) {
        let keyBytes = EphemeralKeyPair.publicKeyBytes
        let head = keyBytes + LinkHandshake.nonceBytes
        guard second.count > head, second.count <= LinkHandshake.maxMessageBytes else {
            throw LinkHandshakeError("message 2 has \(second.count) bytes")
        }
        let responderKey = Array(second[..<keyBytes])
        let (send, receive) = try ephemeral.initiatorKeys(peer: responderKey)
        let h1 = TranscriptHash.of(LinkHandshake.label, first, Array(second[..<head]))
        let peer = try LinkHandshake.checkIdentity(
            Array(second[head...]), purpose: "responder", transcript: h1,
            sealing: try receive.derive(LinkHandshake.context("responder identity", h1)), keys: keys, now: now)
        guard peer.name == expected else { throw LinkHandshakeError("dialled \(expected) but \(peer.name) answered") }
        let h2 = TranscriptHash.of(h1, second)
        let third = LinkHandshake.identity(
            name, key: key, credentials: credentials, purpose: "initiator", transcript: h2,
            sealing: try send.derive(LinkHandshake.context("initiator identity", h2)))
        let h3 = TranscriptHash.of(h2, third)
        return (third, LinkSecrets(
            peer: peer, sendKey: try send.derive(LinkHandshake.context("traffic", h3)),
            receiveKey: try receive.derive(LinkHandshake.context("traffic", h3))))
    }
}

/// The side that accepted the connection; it learns who the peer is from message 3.
public struct LinkResponder: Sendable {
    let name: String
    let key: SigningKey
    let credentials: Credentials
    let keys: KeyRing
    let now: Timestamp
    let ephemeral: EphemeralKeyPair
    let nonce: [UInt8]

    public init(name: String, key: SigningKey, credentials: Credentials = Credentials(), keys: KeyRing, now: Timestamp) throws {
        self.name = name
        self.key = key
        self.credentials = credentials
        self.keys = keys
        self.now = now
        ephemeral = try EphemeralKeyPair()
        nonce = TranscriptHash.random(LinkHandshake.nonceBytes)
    }

    /// The state between messages 2 and 3.
    public struct Answered: Sendable {
        let keys: KeyRing
        let now: Timestamp
        let h2: [UInt8]
        let send: SessionKey
        let receive: SessionKey
        /// Message 2, to send.
        public let second: [UInt8]

        /// Checks message 3 and returns the link.
        public func finish(_ third: [UInt8]) throws -> LinkSecrets {
            guard third.count <= LinkHandshake.maxMessageBytes else { throw LinkHandshakeError("message 3 has \(third.count) bytes") }
            let peer = try LinkHandshake.checkIdentity(
                third, purpose: "initiator", transcript: h2,
                sealing: try receive.derive(LinkHandshake.context("initiator identity", h2)), keys: keys, now: now)
            let h3 = TranscriptHash.of(h2, third)
            return LinkSecrets(
                peer: peer, sendKey: try send.derive(LinkHandshake.context("traffic", h3)),
                receiveKey: try receive.derive(LinkHandshake.context("traffic", h3)))
        }
    }

    /// Checks message 1 and answers it with message 2.
    public func answer(_ first: [UInt8]) throws -> Answered {
        guard first.count == LinkHandshake.firstMessageBytes, first.starts(with: LinkHandshake.magic) else {
            throw LinkHandshakeError("the first frame is not a CafeBatch link handshake (CAFE-LINK-1)")
        }
        let initiatorKey = Array(first[LinkHandshake.magic.count..<(LinkHandshake.magic.count + EphemeralKeyPair.publicKeyBytes)])
        let (send, receive) = try ephemeral.responderKeys(peer: initiatorKey)
        let head = ephemeral.publicKey + nonce
        let h1 = TranscriptHash.of(LinkHandshake.label, first, head)
        let second = head + LinkHandshake.identity(
            name, key: key, credentials: credentials, purpose: "responder", transcript: h1,
            sealing: try send.derive(LinkHandshake.context("responder identity", h1)))
        return Answered(keys: keys, now: now, h2: TranscriptHash.of(h1, second), send: send, receive: receive, second: second)
    }
}
