import CafeCore
import CafeCrypto
import CafeWire
import CafeTestSupport
import Testing
import Yams

struct Fixture {
    let jlore: SigningKey
    let monk1: SigningKey
    let keys: KeyRing
    let now = Timestamp(milliseconds: 1_795_966_212_345)

    init() throws {
        jlore = try SigningKey.generate()
        monk1 = try SigningKey.generate()
        keys = KeyRing(keys: ["jlore": jlore.publicKey, "monk1": monk1.publicKey])
    }

    func header(_ kind: EnvelopeKind, sender: String = "monk1", target: String = "jlore", id: String = "20261129-153012-345-00112233aabbccdd") -> EnvelopeHeader {
        EnvelopeHeader(kind: kind, id: id, origin: "jlore", sender: sender, target: target, created: now, expires: now.adding(seconds: 3600))
    }

    func result(stdout: String = "activating cranky\n", state: HostState = .ok, index: Int = 0) -> Envelope {
        let body = ResultBody(
            batch: "20261129-153012-301-9f2c1a7be301", index: index, request: "activate_dialup",
            answers: "20261129-153012-302-0000000000000001",
            result: HostResult(host: "monk1", state: state, commands: [
                CommandResult(
                    command: .argv(["/usr/sbin/useradd", "-m", "cranky"]), termination: .exited(0), started: now,
                    duration: 0.004, stdout: CapturedOutput(bytes: Array(stdout.utf8))),
            ]))
        return Envelope.seal(header: header(.result), body: .result(body), key: monk1)
    }
}

@Suite("signed envelopes")
struct EnvelopeTests {
    @Test("a request's rerun paths round-trip, and paths that are not host names are refused")
    func onlyPaths() throws {
        let fixture = try Fixture()
        let body = RequestBody(batch: "20261129-153012-301-9f2c1a7be301", batchName: "b", index: 0, request: "r", only: [".", "b2", "gw2/b5", "gw2/."])
        let envelope = Envelope.seal(header: fixture.header(.request, sender: "jlore", target: "monk1"), body: .request(body), key: fixture.jlore)
        guard case .request(let opened) = try Envelope.open(envelope.bytes, keys: fixture.keys).body else { Issue.record("not a request"); return }
        #expect(opened.only == [".", "b2", "gw2/b5", "gw2/."])
        for bad in ["", "a/../b", "../x", "a//b", "./a", "a b"] { #expect(!RequestBody.isValidPath(bad), "\(bad)") }
    }

    @Test("an envelope opens to what was sealed, and reads as plain YAML")
    func roundTrip() throws {
        let fixture = try Fixture()
        let envelope = fixture.result()
        let opened = try Envelope.open(envelope.bytes, keys: fixture.keys)
        #expect(opened.header == envelope.header)
        #expect(opened.body == envelope.body)
        #expect(envelope.text.hasPrefix("envelope: 1\nkind: result\n"))
        #expect(envelope.text.contains("\nsignature: result monk1 "))
        // Any YAML reader sees a mapping with the signature as one more key.
        let any = try Yams.load(yaml: envelope.text) as? [String: Any]
        #expect(any?["kind"] as? String == "result")
        #expect(any?["signature"] != nil)
    }

    @Test("every single-bit flip of a signed envelope is rejected")
    func bitFlips() throws {
        let fixture = try Fixture()
        let bytes = fixture.result().bytes
        var accepted: [Int] = []
        for index in bytes.indices {
            for bit in 0..<8 {
                var copy = bytes
                copy[index] ^= UInt8(1 << bit)
                if (try? Envelope.open(copy, keys: fixture.keys)) != nil { accepted.append(index * 8 + bit) }
            }
        }
        #expect(accepted.isEmpty, "flips accepted at bits \(accepted.prefix(10))")
    }

    @Test("every truncation of a signed envelope is rejected")
    func truncations() throws {
        let fixture = try Fixture()
        let bytes = fixture.result().bytes
        for length in 0..<bytes.count {
            #expect((try? Envelope.open(Array(bytes[0..<length]), keys: fixture.keys)) == nil, "accepted \(length) bytes")
        }
    }

    @Test("a valid result signature presented as a request is rejected")
    func kindConfusion() throws {
        let fixture = try Fixture()
        var text = fixture.result().text
        text = text.replacingSignatureKind("result", with: "request")
        do {
            _ = try Envelope.open(Array(text.utf8), keys: fixture.keys)
            Issue.record("accepted a result signature as a request")
        } catch let error as EnvelopeError {
            #expect(error.reason == .badSignature)
        }
    }

    @Test("unknown signers, forged senders and edited content are refused with a reason")
    func refusals() throws {
        let fixture = try Fixture()
        let stranger = try SigningKey.generate()
        let forged = Envelope.seal(header: fixture.header(.ack, sender: "monk1"), body: .ack(AckBody(acks: "x1", status: .accepted)), key: stranger)
        #expect(throws: EnvelopeError.self) { _ = try Envelope.open(forged.bytes, keys: fixture.keys) }
        let onlyJlore = KeyRing(keys: ["jlore": fixture.jlore.publicKey])
        do {
            _ = try Envelope.open(fixture.result().bytes, keys: onlyJlore)
            Issue.record("unknown signer accepted")
        } catch let error as EnvelopeError {
            #expect(error.reason == .unknownSigner)
        }
        let edited = fixture.result().text.replacingFirst("activating cranky", with: "activating mallory")
        #expect(throws: EnvelopeError.self) { _ = try Envelope.open(Array(edited.utf8), keys: fixture.keys) }
        // Signed by jlore but claiming monk1 as sender.
        let mismatch = Envelope.seal(header: fixture.header(.ack, sender: "monk1"), body: .ack(AckBody(acks: "x1", status: .accepted)), key: fixture.jlore)
        var text = mismatch.text.replacingSignatureKind("ack", with: "ack")
        text = text.replacingFirst("signature: ack monk1", with: "signature: ack jlore")
        do {
            _ = try Envelope.open(Array(text.utf8), keys: fixture.keys)
            Issue.record("sender mismatch accepted")
        } catch let error as EnvelopeError {
            #expect(error.reason == .mismatch)
        }
    }

    @Test("hostile payloads are refused fast, even when correctly signed")
    func hostileSigned() throws {
        let fixture = try Fixture()
        let bombs = [
            "a: &a [x, x, x]\nb: [*a, *a, *a]\n",
            String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n",
            "envelope: 1\nkind: !!str ack\n",
            "envelope: 1\nkind: ack\nextra: field\n",
            "\u{1}\u{2}garbage\n",
        ]
        for payload in bombs {
            let signed = SignedText.sign(Array(payload.utf8), context: "ack", signer: "monk1", key: fixture.monk1)
            let start = Monotonic.seconds()
            #expect(throws: EnvelopeError.self) { _ = try Envelope.open(signed, keys: fixture.keys) }
            #expect(Monotonic.seconds() - start < 0.1)
        }
        let huge = [UInt8](repeating: UInt8(ascii: "a"), count: EnvelopeLimits.maxBytes + 1)
        #expect(throws: EnvelopeError.self) { _ = try Envelope.open(huge, keys: fixture.keys) }
    }

    @Test("envelopes with random nasty strings are valid YAML that Yams reads back to the same values")
    func emitterProperty() throws {
        let fixture = try Fixture()
        var random = SeededRandom(state: 42)
        for _ in 0..<500 {
            let output = NastyStrings.make(&random)
            let message = NastyStrings.make(&random)
            let argument = NastyStrings.make(&random)
            let body = ResultBody(
                batch: "20261129-153012-301-9f2c1a7be301", index: 3, request: "r", answers: "a1",
                result: HostResult(host: "monk1", state: .failed, message: message, commands: [
                    CommandResult(
                        command: .argv(["x", argument]), termination: .exited(1), started: fixture.now, duration: 1,
                        stdout: CapturedOutput(bytes: Array(output.utf8))),
                ]))
            let envelope = Envelope.seal(header: fixture.header(.result), body: .result(body), key: fixture.monk1)
            #expect(try Envelope.open(envelope.bytes, keys: fixture.keys).body == envelope.body)
            let yams = try YAMLDecoder().decode(YamsView.self, from: envelope.text)
            #expect(yams.body.message == yamsView(message))
            #expect(yams.body.commands[0].stdout == yamsView(output))
            #expect(yams.body.commands[0].argv == ["x", yamsView(argument)])
        }
    }

    /// Yams drops a leading U+FEFF from every scalar (see CafeCoreTests' byteOrderMarkQuirk).
    func yamsView(_ text: String) -> String {
        text.unicodeScalars.first == "\u{FEFF}" ? String(text.unicodeScalars.dropFirst()) : text
    }

    struct YamsView: Decodable {
        var body: Body
        struct Body: Decodable {
            var message: String
            var commands: [CommandView]
        }
        struct CommandView: Decodable {
            var argv: [String]
            var stdout: String
        }
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }

    func replacingSignatureKind(_ kind: String, with other: String) -> String {
        replacingFirst("\nsignature: \(kind) ", with: "\nsignature: \(other) ")
    }
}
