import CafeCore
import CafeCrypto
import CafeWire
import Testing

@Suite("batch verification")
struct BatchVerifierTests {
    /// An executed batch of one request on monk1, signed as a real origin signs it.
    func executed(_ fixture: Fixture, state: HostState = .ok, host: String = "monk1") -> [UInt8] {
        let envelope = fixture.result()
        var batch = Batch(
            id: BatchID(validating: "20261129-153012-301-9f2c1a7be301")!, name: "seed", origin: "jlore",
            created: fixture.now, requests: [Request(name: "activate_dialup")])
        batch.requests[0].records = [HostRecord(host: host, state: state, signedResult: envelope.text)]
        batch.requests[0].state = .ok
        batch.state = .done
        return batch.signedExecutedYAML(key: fixture.jlore)
    }

    @Test("a faithful executed batch file verifies")
    func passes() throws {
        let fixture = try Fixture()
        let report = try BatchVerifier.verify(executed(fixture), keys: fixture.keys, source: "f")
        #expect(report.passed, "\(report.verdicts)")
        #expect(report.verdicts.count == 2)
    }

    @Test("editing an output line in the file makes verification fail")
    func editedOutput() throws {
        let fixture = try Fixture()
        let text = String(decoding: executed(fixture), as: UTF8.self).replacingFirst("activating cranky", with: "activating mallory")
        let report = try BatchVerifier.verify(Array(text.utf8), keys: fixture.keys, source: "f")
        #expect(!report.passed)
        #expect(report.verdicts.count == 1)
        #expect(report.verdicts[0].detail.contains("bad signature"))
        // The host's own signature catches the same edit, even where the origin re-signs a lie.
        let envelope = fixture.result().text.replacingFirst("activating cranky", with: "activating mallory")
        #expect(throws: EnvelopeError.self) { _ = try Envelope.open(Array(envelope.utf8), keys: fixture.keys) }
    }

    @Test("a state that disagrees with the signed result fails, even if the origin signed it")
    func disagreeingState() throws {
        let fixture = try Fixture()
        let report = try BatchVerifier.verify(executed(fixture, state: .failed), keys: fixture.keys, source: "f")
        #expect(!report.passed)
        #expect(report.verdicts.contains { $0.detail.contains("the file says 'failed' but the signed result says 'ok'") })
    }

    @Test("a result filed under another host fails, even if the origin signed it")
    func movedResult() throws {
        let fixture = try Fixture()
        let report = try BatchVerifier.verify(executed(fixture, host: "jlore"), keys: fixture.keys, source: "f")
        #expect(report.verdicts.contains { !$0.passed && $0.detail.contains("signed by monk1, not by jlore") })
    }

    @Test("a single envelope file verifies on its own")
    func envelopeFile() throws {
        let fixture = try Fixture()
        let report = try BatchVerifier.verify(fixture.result().bytes, keys: fixture.keys, source: "e")
        #expect(report.passed)
        #expect(report.verdicts[0].subject.hasPrefix("result envelope"))
    }

    @Test("a file signed by an unknown origin is reported and not read")
    func unknownOrigin() throws {
        let fixture = try Fixture()
        let report = try BatchVerifier.verify(executed(fixture), keys: KeyRing(keys: ["monk1": fixture.monk1.publicKey]), source: "f")
        #expect(!report.passed)
        #expect(report.verdicts[0].detail.contains("unknown signer"))
    }

    @Test("hostile files are refused within 100 ms")
    func hostileFiles() throws {
        let fixture = try Fixture()
        var inputs: [[UInt8]] = [
            Array("a: &a [1,2]\nb: [*a,*a]\nsignature: executed-batch jlore AAAA\n".utf8),
            Array((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8),
            (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7919) },
        ]
        inputs.append(Array("batch: x\nname: ".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 20 << 20) + [10])
        for input in inputs {
            let start = Monotonic.seconds()
            let report = try? BatchVerifier.verify(input, keys: fixture.keys, source: "hostile")
            #expect(report?.passed != true)
            #expect(Monotonic.seconds() - start < 0.1)
        }
    }
}
