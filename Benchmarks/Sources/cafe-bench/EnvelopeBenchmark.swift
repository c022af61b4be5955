import CafeCore
import CafeCrypto
import CafeWire
import Glibc
import Samples

/// Envelope encode+sign+verify+decode against the libsodium floor (sign + verify of the same
/// bytes), without and with the sealed link (secretstream seal + open of every frame), and the
/// cost of one link handshake; and the same for a node known only by its fleet certificate
/// (the certificate travels in every envelope; each is checked once, then cached).
enum EnvelopeBenchmark {
    static func run(count: Int) {
        let key = ResultSample.key, keys = ResultSample.keys, now = ResultSample.now
        let header = ResultSample.header, body = ResultSample.oneCommand
        let sample = Envelope.seal(header: header, body: body, key: key).bytes
        print("envelope: \(sample.count) bytes, \(count) iterations each way")
        let fleet = try! SigningKey(seed: [UInt8](repeating: 9, count: 32))
        let certificate = NodeCertificate(
            fleet: "acme", name: "monk1", key: key.publicKey, tags: ["web"], notBefore: now.adding(seconds: -86_400),
            notAfter: now.adding(seconds: 86_400 * 365), serial: 1, fleetKey: fleet)
        let credentials = Credentials(certificate: certificate)
        let fleetKeys = KeyRing(fleets: [FleetAnchor(name: "acme", key: fleet.publicKey)])
        var floor = 0.0, full = 0.0, sealed = 0.0, certified = 0.0
        let link = Self.link()
        let sealer = LinkSealer(key: link.initiator.sendKey, now: { Monotonic.seconds() })
        let opener = SecretStreamReceiver(key: link.responder.receiveKey, header: sealer.header)!
        for _ in 0..<(count / 1000) {
            var start = Monotonic.seconds()
            for _ in 0..<1000 {
                let signature = key.sign(sample)
                precondition(key.publicKey.isValidSignature(signature, of: sample))
            }
            floor += Monotonic.seconds() - start
            start = Monotonic.seconds()
            for _ in 0..<1000 {
                let envelope = Envelope.seal(header: header, body: body, key: key)
                let opened = try! Envelope.open(envelope.bytes, keys: keys)
                precondition(opened.header.id == header.id)
            }
            full += Monotonic.seconds() - start
            start = Monotonic.seconds()
            for _ in 0..<1000 {
                let envelope = Envelope.seal(header: header, body: body, key: key)
                let opened = try! Envelope.open(opener.open(sealer.seal(envelope.bytes))!, keys: keys)
                precondition(opened.header.id == header.id)
            }
            sealed += Monotonic.seconds() - start
            start = Monotonic.seconds()
            for _ in 0..<1000 {
                let envelope = Envelope.seal(header: header, body: body, key: key, credentials: credentials)
                let opened = try! Envelope.open(envelope.bytes, keys: fleetKeys)
                precondition(opened.signer?.certified == true)
            }
            certified += Monotonic.seconds() - start
        }
        let n = Double(count / 1000 * 1000)
        print("  libsodium sign+verify        \(fixed(floor / n * 1e6, 1, width: 7)) µs/envelope  (floor)")
        print("  encode+sign+verify+decode    \(fixed(full / n * 1e6, 1, width: 7)) µs/envelope  \(fixed(full / floor, 2))× floor  (target ≤ 2×)")
        print("  the same over a sealed link  \(fixed(sealed / n * 1e6, 1, width: 7)) µs/envelope  \(fixed(sealed / floor, 2))× floor  (target ≤ 2×)")
        print("  signer known by certificate  \(fixed(certified / n * 1e6, 1, width: 7)) µs/envelope  \(fixed(certified / floor, 2))× floor  (\(Envelope.seal(header: header, body: body, key: key, credentials: credentials).bytes.count) bytes)")
        let handshakes = 200
        let start = Monotonic.seconds()
        for _ in 0..<handshakes { _ = Self.link() }
        print("  one link handshake, both ends \(fixed((Monotonic.seconds() - start) / Double(handshakes) * 1e6, 1, width: 6)) µs  (once per link)")
    }

    /// A completed handshake between two fresh identities.
    static func link() -> (initiator: LinkSecrets, responder: LinkSecrets) {
        let jlore = try! SigningKey(seed: [UInt8](repeating: 1, count: 32))
        let monk1 = try! SigningKey(seed: [UInt8](repeating: 2, count: 32))
        let keys = KeyRing(keys: ["jlore": jlore.publicKey, "monk1": monk1.publicKey])
        let now = SystemClock().now()
        let initiator = try! LinkInitiator(name: "jlore", key: jlore, peer: "monk1", keys: keys, now: now)
        let answered = try! LinkResponder(name: "monk1", key: monk1, keys: keys, now: now).answer(initiator.first)
        let (third, secrets) = try! initiator.finish(answered.second)
        return (secrets, try! answered.finish(third))
    }
}
