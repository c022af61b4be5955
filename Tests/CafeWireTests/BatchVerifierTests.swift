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

    @Test("a forwarding host's ok holds only as its signed groups allow: budgets and checks recomputed, check results signed for it", arguments: [
        "within budget", "no budget", "check passed", "check failed", "check missing", "check signed for the origin",
    ])
    func forwardingHostGroups(shape: String) throws {
        let origin = try SigningKey.generate(), gateway = try SigningKey.generate()
        let l1 = try SigningKey.generate(), l2 = try SigningKey.generate()
        let keys = KeyRing(keys: ["jlore": origin.publicKey, "gw": gateway.publicKey, "l1": l1.publicKey, "l2": l2.publicKey])
        let now = Timestamp(milliseconds: 1_795_966_212_345)
        let batchID = "20261129-153012-301-9f2c1a7be301"
        func result(_ host: String, _ key: SigningKey, origin: String, target: String, index: Int, request: String, state: HostState,
                    _ extra: (inout HostResult) -> Void = { _ in }) -> String {
            var hostResult = HostResult(host: host, state: state)
            extra(&hostResult)
            let header = EnvelopeHeader(
                kind: .result, id: "20261129-153012-345-00112233aabb\(host.utf8.count)\(index)", origin: origin, sender: host, target: target,
                created: now, expires: now.adding(seconds: 3600))
            let body = ResultBody(batch: batchID, index: index, request: request, answers: "20261129-153012-302-0000000000000001", result: hostResult)
            return Envelope.seal(header: header, body: .result(body), key: key).text
        }
        let leaves = [
            HostRecord(host: "l1", state: .ok, signedResult: result("l1", l1, origin: "jlore", target: "gw", index: 0, request: "provision", state: .ok)),
            HostRecord(host: "l2", state: shape.hasPrefix("check") ? .ok : .noAnswer,
                       signedResult: shape.hasPrefix("check") ? result("l2", l2, origin: "jlore", target: "gw", index: 0, request: "provision", state: .ok) : nil),
        ]
        let checkOrigin = shape == "check signed for the origin" ? "jlore" : "gw"
        let checks = [GroupCheck(group: 0, request: "health", index: 0 * 1024 + 0, records: [
            HostRecord(host: "l1", state: .ok, signedResult: result("l1", l1, origin: checkOrigin, target: "gw", index: 0, request: "health", state: .ok)),
            HostRecord(host: "l2", state: shape == "check failed" ? .failed : .ok,
                       signedResult: result("l2", l2, origin: checkOrigin, target: "gw", index: 0, request: "health", state: shape == "check failed" ? .failed : .ok)),
        ])]
        let groups: [HostGroup] = switch shape {
        case "within budget": [HostGroup(["l1", "l2"], maxFailures: .count(1))]
        case "no budget": [HostGroup(["l1", "l2"], batch: .count(1))]
        default: [HostGroup(["l1", "l2"], check: "health")]
        }
        let signed = result("gw", gateway, origin: "jlore", target: "jlore", index: 0, request: "provision", state: .ok) { gw in
            gw.leaves = leaves
            gw.leafGroups = groups
            if shape.hasPrefix("check") && shape != "check missing" { gw.leafChecks = checks }
        }
        var batch = Batch(id: BatchID(validating: batchID)!, name: "b", origin: "jlore", created: now, requests: [Request(name: "provision")])
        batch.requests[0].groups = [["gw"]]
        batch.requests[0].records = [HostRecord(host: "gw", state: .ok, signedResult: signed)]
        batch.requests[0].state = .ok
        batch.state = .done
        let report = try BatchVerifier.verify(batch.signedExecutedYAML(key: origin), keys: keys, source: "f")
        let honest = ["within budget", "check passed"].contains(shape)
        #expect(report.passed == honest, "\(shape): \(report.verdicts.filter { !$0.passed })")
    }

    @Test("a faithful executed batch file verifies")
    func passes() throws {
        let fixture = try Fixture()
        let report = try BatchVerifier.verify(executed(fixture), keys: fixture.keys, source: "f")
        #expect(report.passed, "\(report.verdicts)")
        #expect(report.verdicts.count == 3)
        #expect(report.verdicts.last?.subject == "states")
    }

    @Test("a 40-host file is checked on every core: verdicts in file order, and only the forged result among them fails")
    func manyHosts() throws {
        let origin = try SigningKey.generate(), forger = try SigningKey.generate()
        let hosts = (1...40).map { "h\($0)" }
        var keys: [String: PublicKey] = ["jlore": origin.publicKey]
        var records: [HostRecord] = []
        let now = Timestamp(milliseconds: 1_795_966_212_345)
        let batchID = "20261129-153012-301-9f2c1a7be301"
        for (number, host) in hosts.enumerated() {
            let key = try SigningKey.generate()
            keys[host] = key.publicKey
            let header = EnvelopeHeader(
                kind: .result, id: "20261129-153012-345-\(String(repeating: "0", count: 14))\(number + 10)", origin: "jlore", sender: host,
                target: "jlore", created: now, expires: now.adding(seconds: 3600))
            let body = ResultBody(
                batch: batchID, index: 0, request: "provision", answers: "20261129-153012-302-0000000000000001",
                result: HostResult(host: host, state: .ok))
            // h23's result is signed with a key that is not h23's.
            let signed = Envelope.seal(header: header, body: .result(body), key: host == "h23" ? forger : key).text
            records.append(HostRecord(host: host, state: .ok, signedResult: signed))
        }
        var batch = Batch(id: BatchID(validating: batchID)!, name: "b", origin: "jlore", created: now, requests: [Request(name: "provision")])
        batch.requests[0].groups = [HostGroup(hosts)]
        batch.requests[0].records = records
        batch.requests[0].state = .ok
        batch.state = .done
        let report = try BatchVerifier.verify(batch.signedExecutedYAML(key: origin), keys: KeyRing(keys: keys), source: "f")
        #expect(report.verdicts.map(\.subject) == ["batch file"] + hosts.map { "provision[0] on \($0)" } + ["states"])
        #expect(report.verdicts.filter { !$0.passed }.map(\.subject) == ["provision[0] on h23"])
    }

    /// A batch of `requests` copies of activate_dialup, signed by the origin as given: the
    /// origin may sign anything, so only recomputing the states catches its lies.
    func signed(_ fixture: Fixture, _ shape: (inout Batch) -> Void) -> [UInt8] {
        var batch = Batch(
            id: BatchID(validating: "20261129-153012-301-9f2c1a7be301")!, name: "seed", origin: "jlore",
            created: fixture.now, requests: [Request(name: "activate_dialup"), Request(name: "activate_dialup")])
        for index in batch.requests.indices {
            batch.requests[index].groups = [["monk1"]]
            batch.requests[index].records = [HostRecord(host: "monk1", state: .ok, signedResult: fixture.result(index: index).text)]
            batch.requests[index].state = .ok
        }
        batch.state = .done
        shape(&batch)
        return batch.signedExecutedYAML(key: fixture.jlore)
    }

    @Test("an origin's signed file whose states disagree with the signed results or the plan fails", arguments: [
        "failed host, request ok", "request failed, batch done", "host twice", "host outside the plan",
        "planned host missing", "second group ran after a failure", "request ran after a failed one",
    ])
    func inconsistentStates(lie: String) throws {
        let fixture = try Fixture()
        let failed = fixture.result(state: .failed).text
        let bytes = signed(fixture) { batch in
            switch lie {
            case "failed host, request ok":
                batch.requests[0].records[0] = HostRecord(host: "monk1", state: .failed, signedResult: failed)
            case "request failed, batch done":
                batch.requests[0].records[0] = HostRecord(host: "monk1", state: .failed, signedResult: failed)
                batch.requests[0].state = .failed
                batch.requests[1].records = [HostRecord(host: "monk1", state: .skipped)]
                batch.requests[1].state = .skipped
            case "host twice":
                batch.requests[0].records.append(batch.requests[0].records[0])
            case "host outside the plan":
                batch.requests[0].groups = [["jlore"]]
            case "planned host missing":
                batch.requests[0].groups = [["monk1", "cluster1"]]
            case "second group ran after a failure":
                batch.requests[0].groups = [["jlore"], ["monk1"]]
                batch.requests[0].records.insert(HostRecord(host: "jlore", state: .noAnswer), at: 0)
                batch.requests[0].state = .failed
                batch.requests[1].records = [HostRecord(host: "monk1", state: .skipped)]
                batch.requests[1].state = .skipped
                batch.state = .error
            default:
                batch.requests[0].records[0] = HostRecord(host: "monk1", state: .failed, signedResult: failed)
                batch.requests[0].state = .failed
                batch.state = .error
            }
        }
        let report = try BatchVerifier.verify(bytes, keys: fixture.keys, source: "f")
        #expect(!report.passed, "\(lie): \(report.verdicts)")
        #expect(report.verdicts.contains { $0.subject == "states" && !$0.passed }, "\(lie): \(report.verdicts)")
    }

    @Test("without a host's signature a record may say failed (the origin's account), never ok or denied")
    func unsignedRecords() throws {
        let fixture = try Fixture()
        let failed = signed(fixture) { batch in
            batch.requests[0].records[0] = HostRecord(host: "monk1", state: .failed, note: "could not seal the request to monk1")
            batch.requests[0].state = .failed
            batch.requests[1].records = [HostRecord(host: "monk1", state: .skipped)]
            batch.requests[1].state = .skipped
            batch.state = .error
        }
        #expect(try BatchVerifier.verify(failed, keys: fixture.keys, source: "f").passed)
        for state in [HostState.ok, .denied] {
            let claimed = signed(fixture) { batch in
                batch.requests[0].records[0] = HostRecord(host: "monk1", state: state)
                if state == .denied {
                    batch.requests[0].state = .failed
                    batch.requests[1].records = [HostRecord(host: "monk1", state: .skipped)]
                    batch.requests[1].state = .skipped
                    batch.state = .error
                }
            }
            let report = try BatchVerifier.verify(claimed, keys: fixture.keys, source: "f")
            #expect(report.verdicts.contains { !$0.passed && $0.detail.contains("carries no signed result") }, "\(state)")
        }
    }

    @Test("the same shapes told honestly verify")
    func honestStates() throws {
        let fixture = try Fixture()
        let failed = fixture.result(state: .failed).text
        let bytes = signed(fixture) { batch in
            batch.requests[0].records[0] = HostRecord(host: "monk1", state: .failed, signedResult: failed)
            batch.requests[0].state = .failed
            batch.requests[1].records = [HostRecord(host: "monk1", state: .skipped)]
            batch.requests[1].state = .skipped
            batch.state = .error
        }
        let report = try BatchVerifier.verify(bytes, keys: fixture.keys, source: "f")
        #expect(report.passed, "\(report.verdicts)")
        #expect(try BatchVerifier.verify(signed(fixture) { _ in }, keys: fixture.keys, source: "f").passed)
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
