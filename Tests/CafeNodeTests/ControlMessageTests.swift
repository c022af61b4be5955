import CafeCore
import CafeTestSupport
import Testing

@testable import CafeNode

/// The messages of the control socket on their own (no socket, no node): every request and
/// event reads back as written, and anything else is refused with an `InputError` that names
/// the message and the field, never a crash.
@Suite("control messages")
struct ControlMessageTests {
    static let id = "20261202-100000-000-9f2c1a7be301"

    /// The kind of each request: the switch is exhaustive, so a new kind does not compile
    /// until it is named here, and ``everyRequestKind()`` then wants a sample of it.
    static func kind(_ request: ControlRequest) -> String {
        switch request {
        case .submit: "submit"
        case .plan: "plan"
        case .status: "status"
        case .rerun: "rerun"
        case .reload: "reload"
        case .follow: "follow"
        case .control(_, let action): action.rawValue
        }
    }

    static func kind(_ event: ControlEvent) -> String {
        switch event {
        case .accepted: "accepted"
        case .progress: "progress"
        case .stage: "stage"
        case .finished: "finished"
        case .status: "status"
        case .failure: "error"
        }
    }

    static let requests: [ControlRequest] = [
        .submit(batch: Array("name: b\nrequests:\n  - name: x\n".utf8), source: "b.yaml", follow: true, timeout: 30, hosts: ["monk1", "web*"], plan: "ab12"),
        .submit(batch: Array("name: b\n".utf8), source: "batch 'b' from cafe", follow: false, timeout: nil, hosts: nil),
        .submit(batch: [], source: "", follow: true, timeout: 0.001, hosts: [], plan: nil),
        .plan(batch: Array("name: p\n".utf8), source: "p.yaml", timeout: 2.5),
        .status(batch: nil), .status(batch: id),
        .rerun(batch: id, failedOnly: true, follow: false, timeout: nil),
        .rerun(batch: id, failedOnly: false, follow: true, timeout: NodeSettings.maxExpiry),
        .reload, .follow(batch: id),
    ] + BatchControl.allCases.map { .control(batch: id, action: $0) }

    static let events: [ControlEvent] =
        [.accepted(batch: id), .stage(request: 0, name: "deploy", hosts: 12, note: "group 2/4: 8 host(s), 2 at a time")]
        + HostState.allCases.map { .progress(request: 3, name: "provision", host: "monk1", state: $0, note: "note of \($0.rawValue)") }
        + [.progress(request: 0, name: "provision", host: "gateway/leaf1", state: .ok, note: nil)]
        + [BatchState.queued, .running, .done, .error].map { .finished(state: $0, path: "/var/lib/cafe/batches/x.yaml") }
        + [.status(text: "no batches\n", json: "{\"node\": \"jlore\", \"batches\": []}\n"), .failure(message: "bad batch", exitStatus: 2)]

    @Test("every kind of request reads back as it was written", arguments: requests)
    func requestRoundTrip(_ request: ControlRequest) throws {
        #expect(try ControlRequest(yaml: request.yaml) == request)
    }

    @Test("every kind of event reads back as it was written", arguments: events)
    func eventRoundTrip(_ event: ControlEvent) throws {
        #expect(try ControlEvent(yaml: event.yaml) == event)
    }

    @Test("the samples cover every kind of request and event")
    func everyRequestKind() {
        #expect(Set(Self.requests.map(Self.kind)) == Set(ControlRequest.keys.keys))
        #expect(Set(Self.events.map(Self.kind)) == Set(ControlEvent.keys.keys))
    }

    /// Texts that YAML would read as something else if written plainly.
    static let awkward = [
        "", " leading and trailing ", "yes", "no", "null", "~", "true", "123", "0x1F", "1e3", ".inf", "-", "- item", "? key",
        "a: b", "# not a comment", "&anchor", "*alias", "!tag", "'quoted'", "\"double\"", "%TAG", "---", "...",
        "line one\nline two\n", "\ttab", "trailing backslash \\", "schön, 日本, 🙂", "{flow: map}", "[1, 2]", "@at", "`tick`",
    ]

    @Test("texts YAML would otherwise read as numbers, booleans, nulls, markers or structure read back unchanged")
    func awkwardTexts() throws {
        var random = SeededRandom(state: 7)
        for text in Self.awkward + (0..<300).map({ _ in NastyStrings.make(&random) }) {
            let request = ControlRequest.submit(batch: Array(text.utf8), source: text, follow: true, timeout: nil, hosts: [text], plan: text)
            #expect(try ControlRequest(yaml: request.yaml) == request, "\(text.debugDescription)")
            for event in [ControlEvent.status(text: text, json: text), .failure(message: text, exitStatus: 1),
                          .progress(request: 0, name: text, host: text, state: .failed, note: text)] {
                #expect(try ControlEvent(yaml: event.yaml) == event, "\(text.debugDescription)")
            }
        }
    }

    /// The error of reading `text` as a request, which must be an `InputError` naming the
    /// control request; nil when it was read.
    func requestError(_ text: String) -> String? { refusal { _ = try ControlRequest(yaml: Array(text.utf8)) } }
    func eventError(_ text: String) -> String? { refusal { _ = try ControlEvent(yaml: Array(text.utf8)) } }

    func refusal(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as InputError {
            return "\(error)"
        } catch {
            Issue.record("not an InputError: \(type(of: error)): \(error)")
            return "\(error)"
        }
    }

    @Test("malformed requests are refused with the message, the field and the reason", arguments: [
        ("", "control request:1: is empty"),
        ("- op: status\n", "expected a mapping"),
        ("status\n", "expected a mapping"),
        ("batch: x\n", "'op'"),
        ("op: [status]\n", "expected a text value"),
        ("op: submit\nsource: s\nfollow: true\n", "'batch'"),
        ("op: submit\nsource: s\nfollow: maybe\nbatch: b\n", "expected true or false"),
        ("op: submit\nsource: s\nfollow: true\nbatch: b\nhosts: monk1\n", "expected a list"),
        ("op: submit\nsource: s\nfollow: true\nbatch: b\ntimeout: 0\n", "must be between"),
        ("op: submit\nsource: s\nfollow: true\nbatch: b\ntimeout: -1\n", "expected a number of seconds"),
        ("op: submit\nsource: s\nfollow: true\nbatch: b\ntimeout: .nan\n", "expected a number of seconds"),
        ("op: rerun\nbatch: \(id)\nfailed-only: true\nfollow: true\ntimeout: 1e300\n", "must be between"),
        ("op: rerun\nbatch: \(id)\nfollow: true\n", "'failed-only'"),
        ("op: reload\nbatch: \(id)\n", "unknown key 'batch'"),
        ("op: status\nfollow: true\n", "unknown key 'follow'"),
        ("op: pause\n", "'batch'"),
        ("op: status\nop: reload\n", "duplicate key 'op'"),
        ("op: status\nbatch: &a x\n", "anchors"),
        ("op: follow\nbatch: !!str x\n", "tag"),
        ("op: status\n---\nop: reload\n", "more than one YAML document"),
        ("op: status\nbatch: [unclosed\n", "control request"),
        ("{op: status, batch: ", "control request"),
    ])
    func malformedRequests(_ text: String, _ reason: String) {
        expectRefusal(requestError(text), of: text, naming: "control request", reason)
    }

    /// `error` (of reading `text`) begins with the message's name and gives `reason`.
    func expectRefusal(_ error: String?, of text: String, naming message: String, _ reason: String) {
        let context = Comment(rawValue: "\(text.debugDescription): \(String(describing: error))")
        #expect(error?.hasPrefix(message) == true, context)
        #expect(error?.contains(reason) == true, context)
    }

    @Test("an unknown operation or event is refused by name, with the known ones as the hint")
    func unknownKinds() {
        let operation = requestError("op: sideways\nbatch: \(Self.id)\n")
        #expect(operation?.contains("unknown operation 'sideways'") == true, "\(String(describing: operation))")
        #expect(operation?.contains("one of cancel, follow, pause, plan, reload, rerun, resume, status, submit") == true)
        let event = eventError("event: sideways\n")
        #expect(event?.contains("control event:1:") == true && event?.contains("unknown event 'sideways'") == true, "\(String(describing: event))")
        #expect(eventError("request: submit\n")?.contains("'event'") == true)
        #expect(requestError("request: submit\n")?.contains("'op'") == true)
    }

    @Test("malformed events are refused with the field and the reason", arguments: [
        ("event: progress\nrequest: 0\nname: n\nhost: h\nstate: sideways\n", "unknown state"),
        ("event: finished\nstate: ok\npath: /x\n", "unknown state"),
        ("event: progress\nrequest: one\nname: n\nhost: h\nstate: ok\n", "expected a whole number"),
        ("event: error\nmessage: m\nexit: 99999999999\n", "exit status"),
        ("event: error\nmessage: m\nexit: -1\n", "exit status"),
        ("event: error\nmessage: m\nexit: 1\npath: /x\n", "unknown key 'path'"),
        ("event: accepted\n", "'batch'"),
        ("event: status\ntext: t\n", "'json'"),
    ])
    func malformedEvents(_ text: String, _ reason: String) {
        expectRefusal(eventError(text), of: text, naming: "control event", reason)
    }

    @Test("bytes that are not UTF-8, and NUL bytes, are refused")
    func notText() {
        #expect(refusal { _ = try ControlRequest(yaml: [0xFF, 0xFE, 0x00]) } != nil)
        #expect(refusal { _ = try ControlEvent(yaml: Array("event: accepted\nbatch: a".utf8) + [0, 0x62]) } != nil)
    }

    @Test("a request over the size limit is refused before it is parsed")
    func oversized() {
        let limit = ControlRequest.limits.maxBytes
        let head = Array("op: status\nbatch: ".utf8)
        let error = refusal { _ = try ControlRequest(yaml: head + [UInt8](repeating: UInt8(ascii: "a"), count: limit + 1 - head.count)) }
        #expect(error?.contains("control request") == true && error?.contains("\(limit)") == true, "\(String(describing: error))")
        // A batch file at the batch-file limit still fits in a request, as one scalar, and the
        // request in one control frame. (Reading 16 MiB back takes seconds in a debug build.)
        #expect(ControlRequest.limits.maxScalarBytes >= YAMLLimits.batchFile.maxBytes)
        #expect(ControlRequest.limits.maxBytes > YAMLLimits.batchFile.maxBytes)
        #expect(ControlServer.maxFrameBytes >= ControlRequest.limits.maxBytes)
    }

    /// The keys a message of each kind may lack; it needs all others.
    static let optionalKeys = ["submit": ["timeout", "hosts", "plan"], "rerun": ["timeout"], "status": ["batch"], "progress": ["note"]]

    static func mayLack(_ key: String, kind: String) -> Bool { optionalKeys[kind]?.contains(key) == true }

    @Test("a message cut at any byte is refused or read, never a crash; cut before a key it needs, it is refused")
    func truncated() {
        let messages = Self.requests.map { ($0.yaml, false) } + Self.events.map { ($0.yaml, true) }
        for (bytes, isEvent) in messages {
            func read(_ prefix: ArraySlice<UInt8>) -> String? {
                isEvent ? refusal { _ = try ControlEvent(yaml: Array(prefix)) } : refusal { _ = try ControlRequest(yaml: Array(prefix)) }
            }
            for length in 0..<bytes.count { _ = read(bytes[..<length]) }
            // Top-level keys start a line; a multi-line value's lines are indented.
            var keys: [(offset: Int, key: String)] = []
            var offset = 0
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
                if let first = line.first, first != " ", let colon = line.firstIndex(of: ":") { keys.append((offset, String(line[..<colon]))) }
                offset += line.utf8.count + 1
            }
            let kind = String(String(decoding: bytes, as: UTF8.self).prefix { $0 != "\n" }.split(separator: " ").last ?? "")
            for index in keys.indices.dropFirst() {
                let needed = keys[index...].map(\.key).filter { !Self.mayLack($0, kind: kind) }
                let error = read(bytes[..<keys[index].offset])
                let text = String(decoding: bytes[..<keys[index].offset], as: UTF8.self).debugDescription
                if needed.isEmpty {
                    #expect(error == nil, "\(text) lacks only optional keys: \(String(describing: error))")
                } else {
                    #expect(error?.contains("missing required key") == true, "\(text) lacks \(needed): \(String(describing: error))")
                }
            }
        }
        // Where a message ends is said by its frame's length, not by the YAML: ControlClientTests
        // show that a frame cut short is refused whole.
    }

    @Test("mutated messages (seeded byte flips, cuts and insertions) are refused or read; nothing crashes")
    func mutations() {
        var random = SeededRandom(state: 0xCAFE)
        let samples = Self.requests.map(\.yaml) + Self.events.map(\.yaml)
        let alphabet = Array(":-[]{}&*!|>'\"#%@`\n \t,?0a\\".utf8) + [0, 0xFF, 0xC3]
        for round in 0..<4000 {
            var bytes = samples[round % samples.count]
            for _ in 0..<(1 + Int(random.next() % 4)) where !bytes.isEmpty {
                let at = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 3 {
                case 0: bytes[at] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: at)
                default: bytes.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: at)
                }
            }
            _ = refusal { _ = try ControlRequest(yaml: bytes) }
            _ = refusal { _ = try ControlEvent(yaml: bytes) }
        }
    }
}
