import CafeCore
import Glibc
import CafeTestSupport
import Testing

@Suite("batch files")
struct BatchFileTests {
    func inputError(_ text: String) -> InputError? {
        do {
            _ = try BatchInput(yaml: Array(text.utf8), source: "b.yaml")
            return nil
        } catch let error as InputError {
            return error
        } catch {
            Issue.record("unexpected \(error)")
            return nil
        }
    }

    @Test("the seed's input batch file")
    func seedInput() throws {
        let input = try BatchInput(yaml: Array("""
            name: WhateverIwant
            requests:
              - name: activate_dialup
                data: {username: cranky, pw: plane, uid: 1001}
                secrets: [pw]
            """.utf8), source: "b.yaml")
        #expect(input.name == "WhateverIwant")
        let data = input.requests[0].data
        #expect(data.fields.map(\.key) == ["username", "uid"])
        #expect(data.value(for: "uid") == "1001")
        #expect(data.secretKeys == ["pw"])
        guard case .clear(let secret) = data.secrets[0].value else {
            Issue.record("secret should be clear in memory")
            return
        }
        #expect(secret.bytes == Array("plane".utf8))
    }

    @Test("bad input batch files are refused with a line and a reason")
    func badInput() {
        #expect(inputError("name: x\nrequests: []\n")?.message == "lists no requests")
        #expect(inputError("name: x\nrequests:\n  - name: a/b\n")?.line == 3)
        #expect(inputError("name: x\nrequests:\n  - name: a\n    data: {\"1bad\": v}\n")?.message.contains("not a valid data key") == true)
        #expect(inputError("name: x\nrequests:\n  - name: a\n    secrets: [pw]\n")?.message.contains("secret 'pw' is not a key under data") == true)
        #expect(inputError("name: x\nrequests:\n  - name: a\n    data: {k: [1]}\n")?.message.contains("expected a text value") == true)
        #expect(inputError("name: x\nrequests:\n  - name: a\n    colour: red\n")?.field == "requests[0].colour")
        #expect(inputError("requests:\n  - name: a\n")?.message == "missing required key 'name'")
    }

    @Test("ids are unique, time-sortable and validated before they name a file")
    func batchIDs() {
        let early = BatchID(time: Timestamp(milliseconds: 1_800_000_000_000), random: SystemRandom())
        let late = BatchID(time: Timestamp(milliseconds: 1_800_000_000_001), random: SystemRandom())
        #expect(early < late)
        #expect(BatchID(validating: early.rawValue) == early)
        #expect(BatchID(validating: "../../etc/passwd") == nil)
        #expect(BatchID(validating: early.rawValue + "x") == nil)
        let ids = Set((0..<1000).map { _ in BatchID(time: Timestamp(milliseconds: 5), random: SystemRandom()) })
        #expect(ids.count == 1000)
    }

    @Test("timestamps print and parse as ISO 8601 with milliseconds")
    func timestamps() {
        let time = Timestamp(milliseconds: 1_795_966_212_345)
        #expect(time.description == "2026-11-29T15:30:12.345Z")
        #expect(Timestamp(iso8601: "2026-11-29T15:30:12.345Z") == time)
        #expect(Timestamp(iso8601: "2026-11-29T15:30:12Z") == Timestamp(milliseconds: 1_795_966_212_000))
        #expect(Timestamp(iso8601: "2026-02-30T00:00:00Z") == nil)
        #expect(Timestamp(iso8601: "1969-12-31T23:59:59.999Z") == Timestamp(milliseconds: -1))
        #expect(time.compact == "20261129-153012-345")
    }

    @Test("executed batch files read back to the same records")
    func executedRoundTrip() throws {
        var batch = Batch(
            id: BatchID(time: Timestamp(milliseconds: 1_795_966_212_345), random: SystemRandom()), name: "n: tricky 'name'",
            origin: "jlore", created: Timestamp(milliseconds: 1_795_966_212_345), requests: [Request(name: "a", data: try RequestData(["u": "c"], secretKeys: []))])
        let result = HostResult(host: "jlore", state: .ok, commands: [
            CommandResult(
                command: .argv(["echo", "x y"]), termination: .exited(0), started: Timestamp(milliseconds: 1_795_966_212_400),
                duration: 0.012, stdout: CapturedOutput(bytes: Array("x y\n".utf8)),
                stderr: CapturedOutput(bytes: [0xFF, 0x00, 0x41], droppedBytes: 12)),
        ])
        batch.requests[0].records = [HostRecord(host: "jlore", state: .ok, result: result), HostRecord(host: "monk1", state: .noAnswer, note: "no answer within 30 s")]
        batch.requests[0].state = .failed
        batch.state = .error
        batch.finished = Timestamp(milliseconds: 1_795_966_213_000)
        let bytes = batch.executedYAML
        let back = try Batch(executedYAML: bytes, source: "x")
        #expect(back.id == batch.id)
        #expect(back.name == batch.name)
        #expect(back.state == .error)
        #expect(back.finished == batch.finished)
        #expect(back.requests[0].records == batch.requests[0].records)
        #expect(back.requests[0].data.value(for: "u") == "c")
    }

    @Test("the original file refuses clear secrets and keeps sealed ones")
    func originalSecrets() throws {
        var data = RequestData()
        try data.setSecret("pw", .clear(SecretBytes(Array("plane".utf8))))
        var batch = Batch(
            id: BatchID(time: Timestamp(milliseconds: 0), random: SystemRandom()), name: "n", origin: "jlore",
            created: Timestamp(milliseconds: 0), requests: [Request(name: "a", data: data)])
        #expect(throws: EnvironmentError.self) { _ = try batch.originalYAML() }
        try batch.requests[0].data.setSecret("pw", .sealed("sealed:AAAA"))
        let text = String(decoding: try batch.originalYAML(), as: UTF8.self)
        #expect(!text.contains("plane"))
        let back = try Batch(originalYAML: Array(text.utf8), source: "o")
        #expect(back.requests[0].data.secrets[0].value == .sealed("sealed:AAAA"))
    }

    @Test("atomic writes replace the whole file and leave no temporary files")
    func atomicWrite() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let path = directory.path + "/f.yaml"
        try FileSystem.writeAtomically(Array("one\n".utf8), to: path)
        try FileSystem.writeAtomically(Array("two\n".utf8), to: path, mode: 0o640)
        #expect(try FileSystem.read(path, maxBytes: 100) == Array("two\n".utf8))
        #expect(try FileSystem.list(directory.path) == ["f.yaml"])
        #expect(try FileSystem.mode(of: path) == 0o640)
        #expect(throws: InputError.self) { _ = try FileSystem.read(path, maxBytes: 2) }
        #expect(throws: EnvironmentError.self) {
            try FileSystem.writeAtomically(Array("x".utf8), to: directory.path + "/missing/f.yaml")
        }
        // Several files with one directory sync: all in place, or (when one cannot be written)
        // none of the new ones left behind.
        try FileSystem.writeAtomically([(Array("a".utf8), "a.env"), (Array("b".utf8), "b.env")], in: directory.path)
        #expect(try FileSystem.list(directory.path).sorted() == ["a.env", "b.env", "f.yaml"])
        #expect(throws: EnvironmentError.self) {
            try FileSystem.writeAtomically([(Array("c".utf8), "c.env"), (Array("d".utf8), "missing/d.env")], in: directory.path)
        }
        #expect(try FileSystem.list(directory.path).sorted() == ["a.env", "b.env", "f.yaml"])
    }

    @Test("base64 is strict")
    func base64() {
        for count in 0..<40 {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.decode("QQ") == nil)
        #expect(Base64.decode("QR==") == nil)
        #expect(Base64.decode("Q Q=") == nil)
    }
}
