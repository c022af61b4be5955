import CafeCore
import CafeCrypto
import CafeWire

/// Representative values of every YAML form the project signs or stores: executed and
/// original batch files, input batches, command-map entry digests' canonical text, every
/// envelope kind and a signed executed file. ``YAMLGoldenTests`` compares what they emit with
/// text captured from the code that wrote files before the coders were unified.
enum YAMLGoldenSamples {
    static let created = Timestamp(milliseconds: 1_795_966_212_345)
    static let batchID = BatchID(validating: "20261129-153012-301-9f2c1a7be301")!
    static let digest = "sha256:" + String(repeating: "ab", count: 32)

    /// A fixed key, so that signatures are the same in every run.
    static func key(_ byte: UInt8) throws -> SigningKey { try SigningKey(seed: [UInt8](repeating: byte, count: 32)) }

    static var commandResults: [CommandResult] {
        [
            CommandResult(
                command: .argv(["/usr/sbin/useradd", "-m", "--", "{{username:operand}}"]), termination: .exited(0), started: created,
                duration: 0.004, stdout: CapturedOutput(bytes: Array("line one\n  indented two\n\ttabbed\n\n".utf8))),
            CommandResult(
                command: .shell("echo 'it''s' \"quoted\" | tr a-z A-Z  # comment: yes"), termination: .exited(3), timedOutAfter: 2.5,
                started: created.adding(seconds: 0.25), duration: 2.5,
                stdout: CapturedOutput(bytes: Array("no newline at end".utf8), droppedBytes: 1234),
                stderr: CapturedOutput(bytes: Array("bell \u{07} nul \u{00} del \u{7F} ls \u{2028} bom \u{FEFF} é ✓\r\n".utf8)),
                note: "stopped reading output 0.500 s after the command exited"),
            CommandResult(
                command: .shell("kill -9 $$"), termination: .signaled(9), started: created, duration: 0.001,
                stdout: CapturedOutput(bytes: [0xFF, 0xFE, 0x00, 0x41])),
            CommandResult(
                command: .argv(["no-such-program", "yes", "on", "~", "null", "- dash", "a: b", "#hash", "@at", " lead", "trail "]),
                termination: .failedToStart("No such file or directory"), started: created, duration: 0),
            CommandResult(command: .shell("printf '\\n\\n'"), termination: .exited(0), started: created, duration: 1234.568,
                stdout: CapturedOutput(bytes: Array("\n\n".utf8)), stderr: CapturedOutput(bytes: Array("x\n\n\n".utf8))),
        ]
    }

    static var groups: [HostGroup] {
        [
            HostGroup(["canary1"]),
            HostGroup(["web1", "web2", "web3"], batch: .percent(25), maxFailures: .count(1), pause: 30, check: "web_health"),
            HostGroup(["db1"], batch: .count(1), maxFailures: .percent(12.5), pause: 0.125),
        ]
    }

    static var leafRecord: HostRecord {
        HostRecord(host: "b2", state: .failed, note: "no answer within 30 s")
    }

    static var hostResult: HostResult {
        HostResult(
            host: "gw1", state: .ok, message: "fanned out: 2 of 2 ok\nsecond line", commands: commandResults,
            leaves: [leafRecord, HostRecord(host: "b3", state: .ok, signedResult: "envelope: 1\nkind: result\nsignature: result b3 AAAA\n")],
            leafGroups: groups, leafChecks: [GroupCheck(group: 1, request: "web_health", index: 2, records: [HostRecord(host: "web1", state: .ok)])],
            commandDigest: digest)
    }

    static var data: RequestData {
        get throws {
            var data = try RequestData(["username": "cranky", "shell": "/bin/bash", "empty": "", "multi": "a\nb\n", "quote": "it's \"x\""])
            try data.setSecret("pw", .sealed("sealed:AAAABBBBCCCC=="))
            try data.setSecret("token", .sealed("sealed:DDDD"))
            return data
        }
    }

    static var executedBatch: Batch {
        get throws {
            var first = Request(name: "activate_dialup", data: try data)
            first.state = .ok
            first.groups = groups
            first.only = ["gw1": [".", "b2"], "db1": ["."]]
            first.planned = ["db1": digest, "gw1": digest]
            first.records = [
                HostRecord(host: "canary1", state: .ok, signedResult: "envelope: 1\nkind: result\nbody:\n  host: canary1\nsignature: result canary1 QUJD\n"),
                HostRecord(host: "gw1", state: .ok, result: hostResult),
                HostRecord(host: "web1", state: .noAnswer, note: "no answer within 30 s"),
            ]
            first.checks = [GroupCheck(group: 1, request: "web_health", index: 2, records: [HostRecord(host: "web1", state: .ok)])]
            var adhoc = Request(name: Request.adhocName, commands: [.shell("uptime && df -h"), .argv(["/bin/echo", "hello world", "{{x}}"])])
            adhoc.state = .failed
            adhoc.note = "stopped: 'quoted' note"
            adhoc.records = [HostRecord(host: "jlore", state: .failed, result: HostResult(host: "jlore", state: .failed, commands: Array(commandResults.prefix(2))))]
            var skipped = Request(name: "web_health")
            skipped.state = .skipped
            var batch = Batch(id: batchID, name: "Whatever I want: \"odd\" #1", origin: "jlore", created: created, requests: [first, adhoc, skipped])
            batch.state = .error
            batch.finished = created.adding(seconds: 12.5)
            batch.cancelled = created.adding(seconds: 10)
            return batch
        }
    }

    static var originalBatch: Batch {
        get throws {
            var first = Request(name: "activate_dialup", data: try data)
            first.groups = groups
            first.only = ["gw1": ["b2"]]
            first.planned = ["gw1": digest]
            let adhoc = Request(name: Request.adhocName, commands: [.shell("uptime"), .argv(["/bin/echo", "a b"])])
            return Batch(id: batchID, name: "provision", origin: "jlore", created: created, requests: [first, adhoc, Request(name: "plain")])
        }
    }

    static var input: BatchInput {
        get throws {
            var data = try RequestData(["username": "cranky", "note": "two\nlines"], secretKeys: [])
            try data.setSecret("pw", .clear(SecretBytes(Array("pl'ane \u{01}".utf8))))
            let first = Request(name: "activate_dialup", data: data)
            let adhoc = Request(name: Request.adhocName, commands: [.shell("uptime && df -h"), .argv(["/bin/echo", "hello", "{{username}}"])])
            return BatchInput(name: "WhateverIwant", requests: [first, adhoc, Request(name: "plain")], expiresIn: 3600)
        }
    }

    static var commandEntry: CommandMapEntry {
        CommandMapEntry(commands: [.shell("/usr/bin/blahh"), .argv(["/usr/sbin/useradd", "-m", "{{username}}"])], timeout: 12.5, outputCap: 4096)
    }

    static func header(_ kind: EnvelopeKind) -> EnvelopeHeader {
        EnvelopeHeader(
            kind: kind, id: "20261129-153012-345-00112233aabbccdd", origin: "jlore", sender: "jlore", target: "monk1",
            created: created, expires: created.adding(seconds: 3600))
    }

    static var bodies: [(String, EnvelopeBody)] {
        get throws {
            let request = RequestBody(
                batch: batchID.rawValue, batchName: "provision: \"x\"", index: 1, request: "activate_dialup",
                data: try data.fields, secrets: [(key: "pw", sealed: "sealed:AAAA"), (key: "token", sealed: "sealed:BBBB")],
                commands: [.shell("uptime"), .argv(["/bin/echo", "{{username}}"])], answerBy: created.adding(seconds: 60),
                delegation: "envelope: 1\nkind: request\nsignature: request jlore AAAA\n", only: [".", "b2", "gw2/b5"], planDigest: digest)
            let result = ResultBody(
                batch: batchID.rawValue, index: 1, request: "activate_dialup", answers: "20261129-153012-302-0000000000000001", result: hostResult)
            return [
                ("request", .request(request)),
                ("request-minimal", .request(RequestBody(batch: batchID.rawValue, batchName: "b", index: 0, request: "r"))),
                ("result", .result(result)),
                ("ack-accepted", .ack(AckBody(acks: "20261129-153012-302-0000000000000001", status: .accepted))),
                ("ack-refused", .ack(AckBody(acks: "x1", status: .refused, code: .planMismatch, reason: "the entry changed: 'x'"))),
                ("forward", .forward(ForwardBody(path: ["jlore", "monk1"], envelope: "envelope: 1\nkind: request\nsignature: request jlore AAAA\n"))),
                ("plan-request", .planRequest(PlanRequestBody(plan: batchID.rawValue, batchName: "p", index: 0, request: "activate_dialup", data: try data.fields, secretKeys: ["pw", "token"]))),
                ("plan-answer", .planAnswer(PlanAnswerBody(
                    plan: batchID.rawValue, index: 0, request: "activate_dialup", answers: "x2", host: "monk1", state: .ok, message: "would run",
                    commandDigest: digest, commands: ["/usr/bin/blahh", "/usr/sbin/useradd -m cranky", "echo 'a b'"]))),
            ]
        }
    }

    /// Every sample, by name, as the bytes written to disk or the wire.
    static var all: [(String, [UInt8])] {
        get throws {
            let jlore = try key(1)
            var samples: [(String, [UInt8])] = [
                ("executed-batch", try executedBatch.executedYAML),
                ("signed-executed-batch", try executedBatch.signedExecutedYAML(key: jlore)),
                ("original-batch", try originalBatch.originalYAML()),
                ("input-batch", try input.yaml),
                ("command-entry", commandEntry.canonicalYAML),
            ]
            for (name, body) in try bodies {
                samples.append(("envelope-" + name, Envelope.seal(header: header(body.kind), body: body, key: jlore).bytes))
            }
            return samples
        }
    }
}
