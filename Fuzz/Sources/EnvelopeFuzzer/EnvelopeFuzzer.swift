import CafeCore
import CafeCrypto
import CafeWire
import Glibc

// libFuzzer entry points. Every input goes through what a node does with bytes from a peer or a
// drop-box file (verify, then decode), through the decoder directly (so that the fuzzer explores
// the YAML and schema code even without valid signatures), and through `cafe verify`'s path.
// The fuzzing key is fixed, so the committed corpus holds correctly signed seeds.

let fuzzKey = try! SigningKey(seed: [UInt8](repeating: 7, count: 32))
let keys = KeyRing(keys: ["jlore": fuzzKey.publicKey, "monk1": fuzzKey.publicKey])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data!, count: size))
    _ = try? Envelope.open(bytes, keys: keys)
    _ = try? Envelope.decodeUnverified(bytes)
    _ = try? BatchVerifier.verify(bytes, keys: keys, source: "fuzz")
    _ = try? YAMLParser.parse(bytes, limits: .config, source: "fuzz")
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// SwiftPM names an executable's entry point `<target>_main`; this one hands over to libFuzzer.
/// With `CAFE_FUZZ_WRITE_CORPUS=DIR` in the environment it writes the seed corpus instead.
@_cdecl("EnvelopeFuzzer_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    if let directory = getenv("CAFE_FUZZ_WRITE_CORPUS").map({ String(cString: $0) }) {
        for (name, bytes) in Seeds.all() {
            try! FileSystem.writeAtomically(bytes, to: directory + "/" + name, mode: 0o644)
        }
        return 0
    }
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzOneInput(data, size) }
}

enum Seeds {
    static let now = Timestamp(milliseconds: 1_795_966_212_345)

    static func header(_ kind: EnvelopeKind) -> EnvelopeHeader {
        EnvelopeHeader(
            kind: kind, id: "20261129-153012-345-00112233aabbccdd", origin: "jlore", sender: "monk1", target: "jlore",
            created: now, expires: now.adding(seconds: 3600))
    }

    static func all() -> [(String, [UInt8])] {
        let result = HostResult(host: "monk1", state: .ok, commands: [
            CommandResult(
                command: .argv(["/usr/sbin/useradd", "-m", "cranky"]), termination: .exited(0), started: now,
                duration: 0.004, stdout: CapturedOutput(bytes: Array("line one\n  indented: yes\n\ttab\n".utf8)),
                stderr: CapturedOutput(bytes: [0xFF, 0xFE, 0x00], droppedBytes: 3)),
        ])
        let request = RequestBody(
            batch: "20261129-153012-301-9f2c1a7be301", batchName: "seed", index: 0, request: "activate_dialup",
            data: [RequestData.Field(key: "username", value: "cranky")], secrets: [(key: "pw", sealed: "sealed:AAAA")],
            commands: [.shell("echo 'hi'"), .argv(["true"])])
        let resultEnvelope = Envelope.seal(
            header: header(.result),
            body: .result(ResultBody(batch: request.batch, index: 0, request: "activate_dialup", answers: "a1", result: result)),
            key: fuzzKey)
        var batch = Batch(
            id: BatchID(validating: request.batch)!, name: "seed", origin: "jlore", created: now,
            requests: [Request(name: "activate_dialup", data: try! RequestData(["username": "cranky"]))])
        batch.requests[0].records = [HostRecord(host: "monk1", state: .ok, signedResult: resultEnvelope.text)]
        batch.requests[0].state = RequestState.ok
        batch.state = BatchState.done
        let planRequest = PlanRequestBody(
            plan: "20261129-153012-302-4d5e6f708192", batchName: "seed", index: 0, request: "activate_dialup",
            data: [RequestData.Field(key: "username", value: "cranky")], secretKeys: ["pw"])
        let planAnswer = PlanAnswerBody(
            plan: planRequest.plan, index: 0, request: "activate_dialup", answers: header(.planRequest).id, host: "monk1", state: .ok,
            message: "would run", commandDigest: "sha256:" + String(repeating: "0123456789abcdef", count: 4),
            commands: ["/usr/sbin/useradd -m cranky", "echo 'hi'"])
        let signed = { (text: String) in SignedText.sign(Array(text.utf8), context: "ack", signer: "monk1", key: fuzzKey) }
        return [
            ("request.yaml", Envelope.seal(header: header(.request), body: .request(request), key: fuzzKey).bytes),
            ("result.yaml", resultEnvelope.bytes),
            ("ack.yaml", Envelope.seal(header: header(.ack), body: .ack(AckBody(acks: "x1", status: .refused, reason: "r")), key: fuzzKey).bytes),
            ("forward.yaml", Envelope.seal(
                header: header(.forward), body: .forward(ForwardBody(path: ["monk1"], envelope: resultEnvelope.text)), key: fuzzKey).bytes),
            ("plan-request.yaml", Envelope.seal(header: header(.planRequest), body: .planRequest(planRequest), key: fuzzKey).bytes),
            ("plan-answer.yaml", Envelope.seal(header: header(.planAnswer), body: .planAnswer(planAnswer), key: fuzzKey).bytes),
            ("executed-batch.yaml", batch.signedExecutedYAML(key: fuzzKey)),
            ("hostile-alias-bomb.yaml", signed("a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n")),
            ("hostile-deep-nesting.yaml", signed(String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n")),
            ("hostile-big-scalar.yaml", signed("envelope: 1\nkind: ack\nid: '" + String(repeating: "A", count: 256 << 10) + "'\n")),
            ("hostile-tags.yaml", signed("envelope: !!int 1\nkind: !custom ack\n")),
            ("hostile-binary.bin", (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }),
        ]
    }
}
