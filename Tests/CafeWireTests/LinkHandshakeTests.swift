import CafeCore
import CafeCrypto
import CafeWire
import Testing

/// The sealed-link handshake (SIGMA-I) against the properties it is published with: mutual
/// authentication, a fresh key per link that recorded messages cannot reproduce, identity
/// protection from a passive tap, and frames that cannot be altered, replayed or reordered.
@Suite("sealed links")
struct LinkHandshakeTests {
    let jlore: SigningKey
    let monk1: SigningKey
    let keys: KeyRing
    let now = Timestamp(iso8601: "2026-12-02T10:00:00.000Z")!

    init() throws {
        jlore = try SigningKey.generate()
        monk1 = try SigningKey.generate()
        keys = KeyRing(keys: ["jlore": jlore.publicKey, "monk1": monk1.publicKey])
    }

    /// jlore dials monk1: the three messages and both ends' secrets.
    func handshake() throws -> (messages: [[UInt8]], initiator: LinkSecrets, responder: LinkSecrets) {
        let initiator = try LinkInitiator(name: "jlore", key: jlore, peer: "monk1", keys: keys, now: now)
        let answered = try LinkResponder(name: "monk1", key: monk1, keys: keys, now: now).answer(initiator.first)
        let (third, initiatorLink) = try initiator.finish(answered.second)
        return ([initiator.first, answered.second, third], initiatorLink, try answered.finish(third))
    }

    /// A frame sealed by `from` and opened by `to`.
    func roundTrip(_ message: [UInt8], from: LinkSecrets, to: LinkSecrets) -> [UInt8]? {
        let sealer = LinkSealer(key: from.sendKey, now: { 0 })
        return SecretStreamReceiver(key: to.receiveKey, header: sealer.header)?.open(sealer.seal(message))
    }

    @Test("both ends learn who the other is and agree on a key for each direction")
    func mutualAuthentication() throws {
        let (_, initiator, responder) = try handshake()
        #expect(initiator.peer.name == "monk1" && responder.peer.name == "jlore")
        let message = Array("envelope: 1\nkind: request\n".utf8)
        #expect(roundTrip(message, from: initiator, to: responder) == message)
        #expect(roundTrip(message, from: responder, to: initiator) == message)
        #expect(roundTrip(message, from: initiator, to: initiator) == nil, "the two directions use different keys")
    }

    @Test("no node name, and nothing constant but the protocol tag, crosses the wire in clear")
    func identityProtection() throws {
        let (first, _, _) = try handshake()
        let (second, _, _) = try handshake()
        for (one, other) in zip(first, second) {
            let wire = String(decoding: one, as: UTF8.self)
            #expect(!wire.contains("jlore") && !wire.contains("monk1"))
            #expect(one != other, "every handshake message is fresh")
        }
        #expect(first[0].starts(with: Array("CAFE-LINK-1".utf8)))
    }

    @Test("a node that does not hold the key of the name it claims gets no link, either side")
    func impostors() throws {
        let stranger = try SigningKey.generate()
        // An impostor dials monk1 as jlore.
        let fake = try LinkInitiator(name: "jlore", key: stranger, peer: "monk1", keys: keys, now: now)
        let answered = try LinkResponder(name: "monk1", key: monk1, keys: keys, now: now).answer(fake.first)
        let (third, _) = try fake.finish(answered.second)
        #expect(throws: LinkHandshakeError.self) { _ = try answered.finish(third) }
        // An impostor answers jlore's dial as monk1.
        let initiator = try LinkInitiator(name: "jlore", key: jlore, peer: "monk1", keys: keys, now: now)
        let fakeAnswer = try LinkResponder(name: "monk1", key: stranger, keys: keys, now: now).answer(initiator.first)
        #expect(throws: LinkHandshakeError.self) { _ = try initiator.finish(fakeAnswer.second) }
        // A real node that is not the one dialled.
        let other = try LinkInitiator(name: "monk1", key: monk1, peer: "cluster1", keys: keys, now: now)
        let jloreAnswer = try LinkResponder(name: "jlore", key: jlore, keys: keys, now: now).answer(other.first)
        #expect(throws: LinkHandshakeError.self) { _ = try other.finish(jloreAnswer.second) }
        // A name the responder has no key for.
        let unknownKeys = KeyRing(keys: ["monk1": monk1.publicKey])
        let initiator2 = try LinkInitiator(name: "jlore", key: jlore, peer: "monk1", keys: keys, now: now)
        let strict = try LinkResponder(name: "monk1", key: monk1, keys: unknownKeys, now: now).answer(initiator2.first)
        let (third2, _) = try initiator2.finish(strict.second)
        #expect(throws: LinkHandshakeError.self) { _ = try strict.finish(third2) }
    }

    @Test("recorded messages replayed into a new handshake get no link, in either role")
    func replays() throws {
        let (recorded, _, _) = try handshake()
        // Replaying jlore's messages 1 and 3 to monk1: monk1's fresh answer is not what message 3 signed.
        let answered = try LinkResponder(name: "monk1", key: monk1, keys: keys, now: now).answer(recorded[0])
        #expect(throws: LinkHandshakeError.self) { _ = try answered.finish(recorded[2]) }
        // Replaying monk1's message 2 to a new dial by jlore: it covers another message 1.
        let initiator = try LinkInitiator(name: "jlore", key: jlore, peer: "monk1", keys: keys, now: now)
        #expect(throws: LinkHandshakeError.self) { _ = try initiator.finish(recorded[1]) }
    }

    @Test("flipping any bit of message 2 or 3 fails the handshake", arguments: [1, 2])
    func tampering(message: Int) throws {
        for position in stride(from: 0, to: 300, by: 7) {
            let initiator = try LinkInitiator(name: "jlore", key: jlore, peer: "monk1", keys: keys, now: now)
            let answered = try LinkResponder(name: "monk1", key: monk1, keys: keys, now: now).answer(initiator.first)
            var second = answered.second
            if message == 1 {
                guard position < second.count else { break }
                second[position] ^= 0x01
                #expect(throws: (any Error).self) { _ = try initiator.finish(second) }
            } else {
                var (third, _) = try initiator.finish(second)
                guard position < third.count else { break }
                third[position] ^= 0x01
                #expect(throws: LinkHandshakeError.self) { _ = try answered.finish(third) }
            }
        }
    }

    @Test("a first frame that is not a handshake is refused before any key work")
    func notAHandshake() throws {
        let responder = try LinkResponder(name: "monk1", key: monk1, keys: keys, now: now)
        #expect(throws: LinkHandshakeError.self) { _ = try responder.answer(Array("envelope: 1\n".utf8)) }
        #expect(throws: LinkHandshakeError.self) { _ = try responder.answer(Array(repeating: 0, count: LinkHandshake.firstMessageBytes)) }
    }

    @Test("frames altered, replayed, reordered or dropped do not open; the stream rekeys by time and volume in step")
    func frames() throws {
        let (_, initiator, responder) = try handshake()
        let clock = ManualSeconds()
        let sealer = LinkSealer(key: initiator.sendKey, now: { clock.value })
        let frames = (0..<4).map { sealer.seal(Array("frame \($0)".utf8)) }
        func receiver() -> SecretStreamReceiver { SecretStreamReceiver(key: responder.receiveKey, header: sealer.header)! }
        var altered = frames[0]
        altered[altered.count / 2] ^= 0x80
        #expect(receiver().open(altered) == nil)
        let replayed = receiver()
        #expect(replayed.open(frames[0]) != nil)
        #expect(replayed.open(frames[0]) == nil, "the same frame twice")
        #expect(receiver().open(frames[1]) == nil, "a frame out of order, or after a dropped one")
        let inOrder = receiver()
        #expect(frames.map { inOrder.open($0).map { String(decoding: $0, as: UTF8.self) } } == ["frame 0", "frame 1", "frame 2", "frame 3"])

        // Ten minutes later the next frame carries a rekey, and both ends go on with the new key.
        clock.value = LinkSealer.maxSeconds + 1
        let rekeyed = sealer.seal(Array("after rekey".utf8))
        #expect(sealer.rekeys == 1)
        #expect(inOrder.open(rekeyed) == Array("after rekey".utf8))
        #expect(inOrder.open(sealer.seal(Array("next".utf8))) == Array("next".utf8))
        _ = sealer.seal([UInt8](repeating: 7, count: LinkSealer.maxBytes))
        #expect(sealer.rekeys == 2, "and after 64 MiB")
    }
}

/// A settable monotonic clock for ``LinkSealer``.
final class ManualSeconds: @unchecked Sendable {
    var value = 0.0
}

@Suite("sealed drop-box files")
struct DropboxFileTests {
    @Test("a drop-box file shows nothing of its envelope, opens only for its recipient, and not after any change")
    func sealedFile() throws {
        let fixture = try Fixture()
        let envelope = fixture.result(stdout: "MARKER-OUTPUT\n").bytes
        let file = try DropboxFile.seal(envelope, to: fixture.jlore.publicKey)
        for word in ["MARKER-OUTPUT", "monk1", "jlore", "activate_dialup", "kind"] {
            #expect(!file.contains(Array(word.utf8)), "'\(word)' is readable in the file")
        }
        #expect(try DropboxFile.open(file, with: fixture.jlore, source: "f") == envelope)
        #expect(throws: InputError.self) { _ = try DropboxFile.open(file, with: fixture.monk1, source: "f") }
        #expect(throws: InputError.self) { _ = try DropboxFile.open(envelope, with: fixture.jlore, source: "f") }
        var altered = file
        altered[altered.count - 5] ^= 1
        #expect(throws: InputError.self) { _ = try DropboxFile.open(altered, with: fixture.jlore, source: "f") }
    }
}

extension Array where Element == UInt8 {
    func contains(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return false }
        return (0...(count - needle.count)).contains { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
