import CafeCore
import CafeWire

/// Inputs every reader must refuse, each with the reader that refuses it. ``YAMLGoldenTests``
/// checks the message each gives (file, line, field and wording).
enum YAMLRejectionSamples {
    /// An envelope of `kind` whose body is `body` (indented by two), for the unverified decoder.
    static func envelope(_ kind: String, _ body: String) -> [UInt8] {
        Array("""
            envelope: 1
            kind: \(kind)
            id: x1
            origin: jlore
            sender: jlore
            target: monk1
            created: '2026-11-29T15:30:12.345Z'
            expires: '2026-11-29T16:30:12.345Z'
            body:
            \(body)
            signature: \(kind) jlore \(String(repeating: "A", count: 86))==

            """.utf8)
    }

    static let requestHead = "  batch: '20261129-153012-301-9f2c1a7be301'\n  batch-name: b\n  index: 0\n  request: r\n"

    static func input(_ text: String) throws { _ = try BatchInput(yaml: Array(text.utf8), source: "in.yaml") }
    static func commandMap(_ text: String) throws { _ = try CommandMap(yaml: Array(text.utf8), source: "commands.yaml") }
    static func delivery(_ text: String) throws { _ = try DeliveryMap(yaml: Array(text.utf8), source: "delivery.yaml") }
    static func wire(_ kind: String, _ body: String) throws { _ = try Envelope.decodeUnverified(envelope(kind, body)) }

    static let executedHead = "batch: '20261129-153012-301-9f2c1a7be301'\nname: n\norigin: jlore\nstate: done\ncreated: '2026-11-29T15:30:12.345Z'\nrequests:\n"
    static func executed(_ requests: String) throws {
        _ = try Batch(executedYAML: Array((executedHead + requests).utf8), source: "done.yaml")
    }
    static func original(_ requests: String) throws {
        let head = "batch: '20261129-153012-301-9f2c1a7be301'\nname: n\norigin: jlore\ncreated: '2026-11-29T15:30:12.345Z'\nrequests:\n"
        _ = try Batch(originalYAML: Array((head + requests).utf8), source: "original.yaml")
    }
    static func result(_ command: String) throws {
        try executed("  - name: r\n    state: ok\n    hosts:\n      - host: h\n        state: ok\n        unsigned-result:\n          host: h\n          state: ok\n          commands:\n            - \(command)\n")
    }

    static let cases: [(String, @Sendable () throws -> Void)] = [
        ("input unknown key", { try input("nmae: x\nrequests: [{name: r}]\n") }),
        ("input request unknown key", { try input("name: x\nrequests:\n  - name: r\n    secret: [pw]\n") }),
        ("input empty shell", { try input("name: x\nrequests:\n  - name: r\n    commands: ['']\n") }),
        ("input empty argv", { try input("name: x\nrequests:\n  - name: r\n    commands: [[]]\n") }),
        ("input empty program", { try input("name: x\nrequests:\n  - name: r\n    commands: [['', a]]\n") }),
        ("input no commands", { try input("name: x\nrequests:\n  - name: r\n    commands: []\n") }),
        ("input command mapping", { try input("name: x\nrequests:\n  - name: r\n    commands: [{run: a}]\n") }),
        ("input secret not in data", { try input("name: x\nrequests:\n  - name: r\n    data: {a: b}\n    secrets: [pw]\n") }),
        ("input bad data key", { try input("name: x\nrequests:\n  - name: r\n    data: {'a b': c}\n") }),
        ("input data not text", { try input("name: x\nrequests:\n  - name: r\n    data: {a: [b]}\n") }),
        ("input bad request name", { try input("name: x\nrequests:\n  - name: a/b\n") }),
        ("input no requests", { try input("name: x\nrequests: []\n") }),
        ("map empty shell", { try commandMap("r: ['']\n") }),
        ("map empty program", { try commandMap("r: [['']]\n") }),
        ("map no commands", { try commandMap("r: []\n") }),
        ("map unknown key", { try commandMap("r: {commands: [a], timeot: 3}\n") }),
        ("map bad name", { try commandMap("'a b': [x]\n") }),
        ("map bad timeout", { try commandMap("r: {commands: [a], timeout: 0}\n") }),
        ("delivery duplicate host", { try delivery("r: [[a], [b, a]]\n") }),
        ("delivery bad batch", { try delivery("r: [{hosts: [a], batch: 0}]\n") }),
        ("delivery bad failures", { try delivery("r: [{hosts: [a], max-failures: 101%}]\n") }),
        ("delivery unknown key", { try delivery("r: [{hostz: [a]}]\n") }),
        ("delivery empty group", { try delivery("r: [[]]\n") }),
        ("delivery no groups", { try delivery("r: []\n") }),
        ("delivery bad selector", { try delivery("r: [['tag:a b']]\n") }),
        ("wire unknown command key", { try wire("request", requestHead + "  commands:\n    - runn: a\n") }),
        ("wire empty shell", { try wire("request", requestHead + "  commands:\n    - run: ''\n") }),
        ("wire empty argv", { try wire("request", requestHead + "  commands:\n    - argv: []\n") }),
        ("wire no command", { try wire("request", requestHead + "  commands:\n    - {}\n") }),
        ("wire command string", { try wire("request", requestHead + "  commands:\n    - uptime\n") }),
        ("wire secret is data", { try wire("request", requestHead + "  data: {a: b}\n  secrets: {a: 'sealed:x'}\n") }),
        ("wire bad data key", { try wire("request", requestHead + "  data: {'a b': c}\n") }),
        ("wire plan secret twice", { try wire("plan-request", "  plan: '20261129-153012-301-9f2c1a7be301'\n  batch-name: b\n  index: 0\n  request: r\n  secret-keys: [a, a]\n") }),
        ("wire result unknown key", { try wire("result", "  batch: '20261129-153012-301-9f2c1a7be301'\n  index: 0\n  request: r\n  answers: x\n  host: h\n  state: ok\n  comands: []\n") }),
        ("wire result bad group", { try wire("result", "  batch: '20261129-153012-301-9f2c1a7be301'\n  index: 0\n  request: r\n  answers: x\n  host: h\n  state: ok\n  leaf-groups: [['tag:web']]\n") }),
        ("result exit range", { try result("{run: a, exit: 256, start: '2026-11-29T15:30:12.345Z', duration: 0}") }),
        ("result no ending", { try result("{run: a, start: '2026-11-29T15:30:12.345Z', duration: 0}") }),
        ("result bad signal", { try result("{run: a, signal: SIGFOO, start: '2026-11-29T15:30:12.345Z', duration: 0}") }),
        ("result no command", { try result("{exit: 0, start: '2026-11-29T15:30:12.345Z', duration: 0}") }),
        ("result unknown key", { try result("{run: a, exit: 0, start: '2026-11-29T15:30:12.345Z', duration: 0, stdot: x}") }),
        ("result truncation", { try result("{run: a, exit: 0, start: '2026-11-29T15:30:12.345Z', duration: 0, stdout-truncated: true}") }),
        ("result base64", { try result("{run: a, exit: 0, start: '2026-11-29T15:30:12.345Z', duration: 0, stdout-base64: '%%'}") }),
        ("executed bad state", { try executed("  - name: r\n    state: fine\n    hosts: []\n") }),
        ("executed bad host state", { try executed("  - name: r\n    state: ok\n    hosts: [{host: h, state: fine}]\n") }),
        ("executed command key", { try executed("  - name: r\n    commands: [{rn: a}]\n    state: ok\n    hosts: []\n") }),
        ("executed bad only", { try executed("  - name: r\n    only: {'a b': [x]}\n    state: ok\n    hosts: []\n") }),
        ("executed bad planned", { try executed("  - name: r\n    planned: {a: 'sha256:00'}\n    state: ok\n    hosts: []\n") }),
        ("executed check key", { try executed("  - name: r\n    state: ok\n    hosts: []\n    checks: [{group: 0, request: c, index: 1, hosts: [], x: 1}]\n") }),
        ("original unknown key", { try original("  - name: r\n    state: ok\n") }),
        ("original secret not text", { try original("  - name: r\n    secrets: {pw: [x]}\n") }),
        ("original selector", { try original("  - name: r\n    groups: [['tag:web']]\n") }),
        // Refused since every reader of a form shares its coder; no version wrote these.
        ("result empty shell", { try result("{run: '', exit: 0, start: '2026-11-29T15:30:12.345Z', duration: 0}") }),
        ("result empty argv", { try result("{argv: [], exit: 0, start: '2026-11-29T15:30:12.345Z', duration: 0}") }),
        ("executed secret twice", { try executed("  - name: r\n    secrets: [pw, pw]\n    state: ok\n    hosts: []\n") }),
        ("executed secret is data", { try executed("  - name: r\n    data: {pw: x}\n    secrets: [pw]\n    state: ok\n    hosts: []\n") }),
        ("original secret is data", { try original("  - name: r\n    data: {pw: x}\n    secrets: {pw: 'sealed:x'}\n") }),
        ("original bad secret key", { try original("  - name: r\n    secrets: {'a b': 'sealed:x'}\n") }),
    ]

    /// The message each case gives, by name ("accepted" when it is read without an error).
    static func messages() -> [(String, String)] {
        cases.map { name, read in
            do {
                try read()
                return (name, "accepted")
            } catch {
                return (name, "\(error)")
            }
        }
    }
}
