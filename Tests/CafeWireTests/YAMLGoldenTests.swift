import CafeCore
import CafeWire
import Testing

/// Emitted bytes are signed: a change in any character breaks the verification of files and
/// envelopes written by older versions. These tests pin the exact text of every form (captured
/// from the code before the YAML coders were unified) and the message every reader gives for
/// input it refuses.
@Suite("YAML forms: golden text")
struct YAMLGoldenTests {
    @Test("every form emits exactly the captured text")
    func emittedText() throws {
        let samples = try YAMLGoldenSamples.all
        #expect(samples.count == YAMLGoldenText.text.count)
        for (name, bytes) in samples {
            let golden = try #require(YAMLGoldenText.text[name], "no golden text for \(name)")
            #expect(String(decoding: bytes, as: UTF8.self) == golden, "\(name) changed")
        }
    }

    @Test("what was written reads back and emits the same bytes")
    func readBack() throws {
        func bytes(_ name: String) throws -> [UInt8] { Array(try #require(YAMLGoldenText.text[name]).utf8) }
        let executed = try Batch(executedYAML: try bytes("executed-batch"), source: "done.yaml")
        #expect(executed.executedYAML == (try bytes("executed-batch")))
        let original = try Batch(originalYAML: try bytes("original-batch"), source: "original.yaml")
        #expect(try original.originalYAML() == (try bytes("original-batch")))
        let input = try BatchInput(yaml: try bytes("input-batch"), source: "in.yaml")
        #expect(input.yaml == (try bytes("input-batch")))
        for (name, body) in try YAMLGoldenSamples.bodies {
            let envelope = try Envelope.decodeUnverified(try bytes("envelope-" + name))
            #expect(envelope.body == body, "\(name)")
            let key = try YAMLGoldenSamples.key(1)
            #expect(Envelope.seal(header: envelope.header, body: envelope.body, key: key).bytes == (try bytes("envelope-" + name)), "\(name)")
        }
    }

    @Test("every reader refuses the same input with the same message")
    func rejections() {
        let messages = Dictionary(uniqueKeysWithValues: YAMLRejectionSamples.messages())
        #expect(messages.count == Self.expected.count)
        for (name, expected) in Self.expected {
            #expect(messages[name] == expected, "\(name)")
        }
    }

    static let expected: [(String, String)] = [
        ("input unknown key", "in.yaml:1:1: nmae: unknown key 'nmae' (did you mean 'name'?)"),
        ("input request unknown key", "in.yaml:4:5: requests[0].secret: unknown key 'secret' (did you mean 'secrets'?)"),
        ("input empty shell", "in.yaml:4:16: requests[0].commands[0]: must not be empty"),
        ("input empty argv", "in.yaml:4:16: requests[0].commands[0]: an argv list needs a program as its first item"),
        ("input empty program", "in.yaml:4:16: requests[0].commands[0]: an argv list needs a program as its first item"),
        ("input no commands", "in.yaml:4:15: requests[0].commands: lists no commands"),
        ("input command mapping", "in.yaml:4:16: requests[0].commands[0]: expected a text value, found a mapping"),
        ("input secret not in data", "in.yaml:5:14: requests[0].secrets: secret 'pw' is not a key under data:"),
        ("input bad data key", "in.yaml:4:19: requests[0].data.a b: data key 'a b' is not a valid data key (a letter or _, then letters, digits, _ or -)"),
        ("input data not text", "in.yaml:4:15: requests[0].data.a: expected a text value, found a list"),
        ("input bad request name", "in.yaml:3:11: requests[0].name: 'a/b' is not a valid request name (letters, digits, _ . -)"),
        ("input no requests", "in.yaml:2:11: requests: lists no requests (a batch needs at least one request)"),
        ("map empty shell", "commands.yaml:1:5: r[0]: must not be empty"),
        ("map empty program", "commands.yaml:1:5: r[0]: an argv list needs a program as its first item"),
        ("map no commands", "commands.yaml:1:4: r: lists no commands"),
        ("map unknown key", "commands.yaml:1:20: r.timeot: unknown key 'timeot' (did you mean 'timeout'?)"),
        ("map bad name", "commands.yaml:1:1: a b: 'a b' is not a valid request name (letters, digits, _ . -)"),
        ("map bad timeout", "commands.yaml:1:29: r.timeout: must be more than 0 and at most 604800 seconds"),
        ("delivery duplicate host", "delivery.yaml:1:10: r[1]: lists host 'a' more than once for this request"),
        ("delivery bad batch", "delivery.yaml:1:25: r[0].batch: '0' is not a number of hosts (write a whole number of at least 1, or a percentage such as 25%)"),
        ("delivery bad failures", "delivery.yaml:1:32: r[0].max-failures: '101%' is not a share of hosts (write a percentage from 0% to 100%)"),
        ("delivery unknown key", "delivery.yaml:1:6: r[0].hostz: unknown key 'hostz' (did you mean 'hosts'?)"),
        ("delivery empty group", "delivery.yaml:1:5: r[0]: is an empty group"),
        ("delivery no groups", "delivery.yaml:1:4: r: lists no groups of hosts"),
        ("delivery bad selector", "delivery.yaml:1:5: r[0]: 'tag:a b' is not a valid selector (write tag:NAME, NAME in letters, digits, _ . -)"),
        ("wire unknown command key", "envelope:15:7: body.commands[0].runn: unknown key 'runn' (did you mean 'run'?)"),
        ("wire empty shell", "envelope:15:12: body.commands[0].run: must not be empty"),
        ("wire empty argv", "envelope:15:13: body.commands[0].argv: an argv list needs a program as its first item"),
        ("wire no command", "envelope:15:7: body.commands[0]: needs run: or argv:"),
        ("wire command string", "envelope:15:7: body.commands[0]: expected a mapping (key: value), found a scalar"),
        ("wire secret is data", "envelope:15:16: body.secrets.a: secret key 'a' is invalid or also a data key"),
        ("wire bad data key", "envelope:14:17: body.data.a b: data key 'a b' is not a valid data key (a letter or _, then letters, digits, _ or -)"),
        ("wire plan secret twice", "envelope:14:16: body.secret-keys: secret key 'a' is invalid, listed twice or also a data key"),
        ("wire result unknown key", "envelope:16:3: body.comands: unknown key 'comands' (did you mean 'commands'?)"),
        ("wire result bad group", "envelope:16:17: body.leaf-groups[0]: 'tag:web' is a selector; only host names belong here"),
        ("result exit range", "done.yaml:16:30: requests[0].hosts[0].unsigned-result.commands[0].exit: must be between 0 and 255"),
        ("result no ending", "done.yaml:16:15: requests[0].hosts[0].unsigned-result.commands[0]: needs exit:, signal: or not-started:"),
        ("result bad signal", "done.yaml:16:32: requests[0].hosts[0].unsigned-result.commands[0].signal: is not a signal"),
        ("result no command", "done.yaml:16:15: requests[0].hosts[0].unsigned-result.commands[0]: needs run: or argv:"),
        ("result unknown key", "done.yaml:16:81: requests[0].hosts[0].unsigned-result.commands[0].stdot: unknown key 'stdot' (did you mean 'stdout'?)"),
        ("result truncation", "done.yaml:16:15: requests[0].hosts[0].unsigned-result.commands[0]: stdout-truncated and stdout-dropped disagree"),
        ("result base64", "done.yaml:16:96: requests[0].hosts[0].unsigned-result.commands[0].stdout-base64: is not valid base64"),
        ("executed bad state", "done.yaml:8:12: requests[0].state: 'fine' is not a request state (one of pending, running, ok, failed, skipped)"),
        ("executed bad host state", "done.yaml:9:30: requests[0].hosts[0].state: 'fine' is not a host state (one of queued, sent, running, ok, failed, denied, no-answer, expired, skipped)"),
        ("executed command key", "done.yaml:8:17: requests[0].commands[0].rn: unknown key 'rn' (did you mean 'run'?)"),
        ("executed bad only", "done.yaml:8:12: requests[0].only.a b: 'a b' is not a valid host name"),
        ("executed bad planned", "done.yaml:8:18: requests[0].planned.a: 'sha256:00' is not a digest (sha256: and 64 lower-case hex digits)"),
        ("executed check key", "done.yaml:10:58: requests[0].checks[0].x: unknown key 'x' (allowed here: group, request, index, hosts)"),
        ("original unknown key", "original.yaml:7:5: requests[0].state: unknown key 'state' (allowed here: name, data, secrets, commands, groups, only, planned)"),
        ("original secret not text", "original.yaml:7:19: requests[0].secrets.pw: expected a text value, found a list"),
        ("original selector", "original.yaml:7:14: requests[0].groups[0]: 'tag:web' is a selector; only host names belong here"),
        ("result empty shell", "done.yaml:16:21: requests[0].hosts[0].unsigned-result.commands[0].run: must not be empty"),
        ("result empty argv", "done.yaml:16:22: requests[0].hosts[0].unsigned-result.commands[0].argv: an argv list needs a program as its first item"),
        ("executed secret twice", "done.yaml:8:14: requests[0].secrets: secret key 'pw' is invalid, listed twice or also a data key"),
        ("executed secret is data", "done.yaml:9:14: requests[0].secrets: secret key 'pw' is invalid, listed twice or also a data key"),
        ("original secret is data", "original.yaml:8:19: requests[0].secrets.pw: secret key 'pw' is invalid or also a data key"),
        ("original bad secret key", "original.yaml:7:22: requests[0].secrets.a b: secret key 'a b' is invalid or also a data key"),
    ]
}
