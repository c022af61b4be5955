import CafeCore
import Foundation
import Glibc
import CafeTestSupport
import Testing

/// The CLI through the built binary, for everything that runs on one host without a node.
@Suite("cafe CLI, local runs")
struct LocalCLITests {
    /// A home for `jlore` with the seed scenario's command map.
    func seedHome(_ directory: TemporaryDirectory) throws -> String {
        let home = directory.path + "/jlore"
        let created = cafe(["init", "--home", home, "--name", "jlore", "--listen", "127.0.0.1:7401"])
        #expect(created.status == 0, "\(created.stderr)")
        try directory.write("jlore/config/commands.yaml", """
            activate_dialup:
              - echo "activating $CAFE_DATA_USERNAME on $CAFE_NODE"
              - ["sh", "-c", "grep -q '^pw: ' && echo 'password received on stdin'"]
              - ["echo", "useradd -m {{username}}"]
            broken:
              - exit 7
            """)
        try directory.write("seed.yaml", """
            name: WhateverIwant
            requests:
              - name: activate_dialup
                data: {username: cranky, pw: plane}
                secrets: [pw]
            """)
        return home
    }

    @Test("init creates a home with a 0600 key and never overwrites it")
    func initHome() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let home = directory.path + "/n"
        let first = cafe(["init", "--home", home, "--name", "jlore"])
        #expect(first.status == 0)
        #expect(first.stdout.hasPrefix("jlore ed25519:"))
        #expect(try FileSystem.mode(of: home + "/keys/node.key") == 0o600)
        for folder in ["original", "queue", "running", "done", "error"] {
            #expect(FileSystem.isDirectory(home + "/batches/" + folder))
        }
        let key = try FileSystem.read(home + "/keys/node.key", maxBytes: 1000)
        let again = cafe(["init", "--home", home, "--name", "other"])
        #expect(again.status == 2)
        #expect(again.stderr.contains("already exists"))
        #expect(try FileSystem.read(home + "/keys/node.key", maxBytes: 1000) == key)
        let shown = cafe(["key", "show", "--home", home])
        #expect(shown.status == 0)
        #expect(shown.stdout == first.stdout)
        let environment = cafe(["key", "show"], environment: ["CAFE_HOME=\(home)"])
        #expect(environment.stdout == first.stdout)
    }

    @Test("the seed scenario runs locally, writes a signed executed batch file, and verifies")
    func seedScenario() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let home = try seedHome(directory)
        let run = cafe(["batch", "run", "--local", "--home", home, directory.path + "/seed.yaml"])
        #expect(run.status == 0, "\(run.stderr)")
        let path = run.lastLine
        #expect(path.hasPrefix(home + "/batches/done/") && path.hasSuffix(".yaml"))
        let text = String(decoding: try FileSystem.read(path, maxBytes: 1 << 20), as: UTF8.self)
        #expect(text.contains("activating cranky on jlore"))
        #expect(text.contains("password received on stdin"))
        #expect(text.contains("argv: [echo, useradd -m cranky]"))
        #expect(run.stderr.contains("activate_dialup"))
        let id = FileSystem.basename(of: path).replacing(".yaml", with: "")
        let original = String(decoding: try FileSystem.read(home + "/batches/original/\(id).yaml", maxBytes: 1 << 20), as: UTF8.self)
        #expect(original.contains("pw: 'sealed:"))
        let verify = cafe(["verify", "--home", home, path])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("PASS  activate_dialup[0] on jlore"))
        let verified = try JSONSerialization.jsonObject(with: Data(cafe(["verify", "--json", "--home", home, path]).stdout.utf8)) as? [String: Any]
        #expect(verified?["verified"] as? Bool == true && verified?["failed"] as? Int == 0)
        let show = cafe(["show", "--home", home, id])
        #expect(show.status == 0)
        #expect(show.stdout.contains("REQUEST"))
        #expect(show.stdout.contains("activating cranky on jlore"))
        let json = cafe(["show", "--json", "--home", home, path])
        #expect(json.stdout.hasPrefix("{\"verified\":true,\"problems\":[],\"batch\":\"\(id)\""))
    }

    @Test("cafe show of an executed file edited without re-signing says NOT VERIFIED first, marks the rows, and exits 1", arguments: [
        ("state: ok", "state: failed"), ("- host: jlore", "- host: monk1"), ("state: done", "state: error"),
    ])
    func showForgery(edit: (String, String)) throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let home = try seedHome(directory)
        let path = cafe(["batch", "run", "--local", "--home", home, directory.path + "/seed.yaml"]).lastLine
        let text = String(decoding: try FileSystem.read(path, maxBytes: 1 << 20), as: UTF8.self)
        #expect(text.contains(edit.0))
        try FileSystem.writeAtomically(Array(text.replacing(edit.0, with: edit.1).utf8), to: path)
        let show = cafe(["show", "--home", home, path])
        #expect(show.status == 1)
        #expect(show.stdout.hasPrefix("NOT VERIFIED: "), "\(show.stdout)")
        #expect(show.stdout.contains("(UNVERIFIED)"))
        #expect(show.stdout.contains("\nactivate_dialup  jlore "), "the host name comes from the signed result, not the edited file")
        let json = cafe(["show", "--json", "--home", home, path])
        #expect(json.status == 1)
        #expect(json.stdout.hasPrefix("{\"verified\":false,\"problems\":[\""), "\(json.stdout)")
    }

    @Test("cafe secret prints a key's raw value from the YAML a command gets on stdin; both binaries say their version")
    func secretAndVersion() throws {
        let yaml = "username: cranky\npw: \"s3cret \\\"x\\\" \\\\ y\"\n"
        let secret = cafe(["secret", "pw"], stdin: yaml)
        #expect(secret.status == 0, "\(secret.stderr)")
        #expect(secret.stdout == "s3cret \"x\" \\ y", "exactly the value, no quotes, escapes or newline: \(secret.stdout)")
        let missing = cafe(["secret", "password"], stdin: yaml)
        #expect(missing.status == 2 && missing.stderr.contains("has no key 'password'") && missing.stderr.contains("username, pw"))
        #expect(cafe(["secret", "pw"], stdin: "not: [yaml").status == 2)
        let version = cafe(["--version"])
        #expect(version.status == 0 && version.stdout == "cafe \(CafeVersion.string)\n")
        let node = POSIXSpawner().runBlocking(ProcessInvocation(arguments: [Binaries.cafeNode, "--version"], environment: [], timeout: 10, outputCap: 4096))
        #expect(node.termination == .exited(0) && node.stdout.displayText == "cafe-node \(CafeVersion.string)\n")
    }

    @Test("cafe peer and cafe trust edit the files in place, keep comments, and change nothing when the result would be invalid")
    func peerAndTrustEdits() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let home = directory.path + "/a", other = directory.path + "/b"
        #expect(cafe(["init", "--home", home, "--name", "a"]).status == 0)
        let keyLine = String(cafe(["init", "--home", other, "--name", "b"]).stdout.split(separator: "\n")[0])
        let node = home + "/config/node.yaml", trust = home + "/config/trust.yaml"
        func text(_ path: String) throws -> String { String(decoding: try FileSystem.read(path, maxBytes: 1 << 20), as: UTF8.self) }
        let comments = try text(node).split(separator: "\n").map(String.init).filter { $0.hasPrefix("#") }
        #expect(!comments.isEmpty)

        let added = cafe(["peer", "add", "--home", home, "b", "--address", "127.0.0.1:7402", "--key", keyLine])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(try text(node).contains("  b: {address: \"127.0.0.1:7402\", key: \"\(keyLine.split(separator: " ")[1])\"}"))
        for line in comments { #expect(try text(node).contains(line), "comment kept: \(line)") }
        #expect(cafe(["peer", "list", "--home", home]).stdout.contains("b     address 127.0.0.1:7402"))
        let before = try text(node)
        let twice = cafe(["peer", "add", "--home", home, "b", "--via", "c", "--key", keyLine])
        #expect(twice.status == 2 && twice.stderr.contains("is already a peer"))
        let badAddress = cafe(["peer", "add", "--home", home, "c", "--address", "nowhere", "--key", keyLine.replacing("b ", with: "c ")])
        #expect(badAddress.status == 2 && badAddress.stderr.contains("left unchanged"), "\(badAddress.stderr)")
        #expect(try text(node) == before, "a refused edit changes nothing")

        #expect(cafe(["trust", "add", "--home", home, "b", "--requests", "provision, mail_*", "--relay"]).status == 0)
        #expect(try text(trust).contains("b: {requests: [\"provision\", \"mail_*\"], relay: true}"))
        #expect(cafe(["trust", "add", "--home", home, "b", "--requests", "x"]).stderr.contains("already has an entry"))
        #expect(cafe(["trust", "add", "--home", home, "stranger", "--requests", "x"]).status == 2, "a signer that is not a peer")
        #expect(cafe(["trust", "add", "--home", home, "b: {adhoc: true} #", "--requests", "x"]).status == 2, "no YAML through the name")

        let referenced = cafe(["peer", "remove", "--home", home, "b"])
        #expect(referenced.status == 2 && referenced.stderr.contains("trust.yaml"), "trust.yaml still names b: \(referenced.stderr)")
        try FileSystem.writeAtomically(Array("# nobody\n".utf8), to: trust)
        #expect(cafe(["peer", "remove", "--home", home, "b"]).status == 0)
        #expect(!(try text(node)).contains("  b: {"))
        for line in comments { #expect(try text(node).contains(line), "comment kept: \(line)") }
        #expect(cafe(["config", "check", "--home", home]).status == 0)
    }

    @Test("terminal escapes in a batch name or output are shown escaped, never raw")
    func terminalEscapes() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let home = try seedHome(directory)
        try directory.write("escape.yaml", "name: \"evil\\e]0;owned\\a\\e[2J\\u202Ename\"\nrequests:\n  - name: activate_dialup\n    data: {username: \"x\\e[31mred\"}\n")
        let run = cafe(["batch", "run", "--local", "--home", home, directory.path + "/escape.yaml"])
        let show = cafe(["show", "--home", home, run.lastLine])
        for output in [run.stdout, run.stderr, show.stdout, show.stderr] {
            #expect(!output.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x202E }, "\(output)")
        }
        #expect(show.stdout.contains("evil\\u{1B}]0;owned"), "\(show.stdout)")
    }

    @Test("editing the executed batch file makes cafe verify fail with exit 1")
    func tamperedFile() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let home = try seedHome(directory)
        let path = cafe(["batch", "run", "--local", "--home", home, directory.path + "/seed.yaml"]).lastLine
        let text = String(decoding: try FileSystem.read(path, maxBytes: 1 << 20), as: UTF8.self)
        try FileSystem.writeAtomically(Array(text.replacing("activating cranky", with: "activating mallory").utf8), to: path)
        let verify = cafe(["verify", "--home", home, path])
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("FAIL"))
        // The same as JSON, read by Foundation's parser: exit 1, verified false, the failed check named.
        let json = cafe(["verify", "--json", "--home", home, path])
        #expect(json.status == 1)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["verified"] as? Bool == false && object?["file"] as? String == path)
        let verdicts = object?["verdicts"] as? [[String: Any]] ?? []
        #expect(verdicts.count == object?["checks"] as? Int && verdicts.contains { $0["passed"] as? Bool == false })
        try directory.write("garbage.yaml", "\u{1}\u{2}\u{3} not yaml at all {{{")
        #expect(cafe(["verify", "--home", home, directory.path + "/garbage.yaml"]).status == 2)
        #expect(cafe(["verify", "--home", home, directory.path + "/missing.yaml"]).status == 2)
    }

    @Test("a canary secret appears in no file under the node home and in no output")
    func canarySecret() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let home = try seedHome(directory)
        let canary = "CANARY-\(UInt64.random(in: 1...UInt64.max))"
        // `env` prints every variable the command received: the secret must not be among them.
        try directory.write("jlore/config/commands.yaml", """
            activate_dialup:
              - env
              - ["sh", "-c", "grep -q '^pw: ' && echo 'password received on stdin'"]
            """)
        try directory.write("canary.yaml", """
            name: canary
            requests:
              - name: activate_dialup
                data: {username: cranky, pw: "\(canary)"}
                secrets: [pw]
            """)
        let batch = cafe(["batch", "run", "--local", "--home", home, directory.path + "/canary.yaml"])
        #expect(batch.status == 0, "\(batch.stderr)")
        let request = cafe(["request", "--local", "--home", home, "activate_dialup", "username=cranky", "--secret", "pw"], stdin: canary + "\n")
        #expect(request.status == 0, "\(request.stderr)")
        for run in [batch, request] {
            #expect(!run.stdout.contains(canary) && !run.stderr.contains(canary))
        }
        let executed = try FileSystem.read(batch.lastLine, maxBytes: 1 << 20)
        #expect(executed.contains("CAFE_DATA_USERNAME=cranky") && executed.contains("password received on stdin"), "env ran and its output was kept")
        let files = allFiles(under: home)
        #expect(files.count > 10)
        for (path, bytes) in files {
            #expect(!bytes.contains(canary), "the secret is in clear in \(path)")
        }
        #expect(FileSystem.exists(home + "/log/audit.log"))
    }

    @Test("cafe request and cafe run build one-request batches")
    func requestAndRun() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let home = try seedHome(directory)
        let request = cafe(["request", "--local", "--home", home, "activate_dialup", "username=zed", "--secret", "pw"], stdin: "x\n")
        #expect(request.status == 0)
        #expect(String(decoding: try FileSystem.read(request.lastLine, maxBytes: 1 << 20), as: UTF8.self).contains("useradd -m zed"))
        let ok = cafe(["run", "--home", home, "--", "echo", "hello world"])
        #expect(ok.status == 0)
        #expect(ok.stderr.contains("hello world"))
        let failed = cafe(["run", "--home", home, "--", "sh", "-c", "exit 3"])
        #expect(failed.status == 1)
        #expect(failed.lastLine.contains("/batches/error/"))
        let missing = cafe(["run", "--home", home, "--", "/nonexistent/tool"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("cannot start '/nonexistent/tool'"))
    }

    @Test("failures: no command-map entry and a failing command give exit 1 and an error/ file")
    func failures() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let home = try seedHome(directory)
        let unknown = cafe(["request", "--local", "--home", home, "no_such_request"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no command-map entry for 'no_such_request' on jlore"))
        let broken = cafe(["request", "--local", "--home", home, "broken"])
        #expect(broken.status == 1)
        #expect(broken.lastLine.hasPrefix(home + "/batches/error/"))
        #expect(cafe(["verify", "--home", home, broken.lastLine]).status == 0, "a failed batch still verifies")
    }

    @Test("bad input: exit 2 with the file and line; nothing is run or written")
    func badInput() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let home = try seedHome(directory)
        try directory.write("bad.yaml", "name: x\nrequests:\n  - name: activate_dialup\n    data: {username: [nested]}\n")
        let bad = cafe(["batch", "run", "--local", "--home", home, directory.path + "/bad.yaml"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains(directory.path + "/bad.yaml:4:"))
        try directory.write("empty.yaml", "name: x\nrequests: []\n")
        let empty = cafe(["batch", "run", "--local", "--home", home, directory.path + "/empty.yaml"])
        #expect(empty.status == 2)
        #expect(empty.stderr.contains("lists no requests"))
        try directory.write("broken.yaml", "name: x\nrequests: [\n")
        #expect(cafe(["batch", "run", "--local", "--home", home, directory.path + "/broken.yaml"]).status == 2)
        #expect(cafe(["request", "--local", "--home", home, "activate_dialup", "1bad=x"]).status == 2)
        #expect(cafe(["init", "--home", directory.path + "/x"]).status == 2, "a missing --name is a usage error")
        #expect(try FileSystem.list(home + "/batches/original").isEmpty)
        // A config mistake is reported at start, with its place.
        try directory.write("jlore/config/node.yaml", "name: jlore\nlisten: 127.0.0.1:7401\npeers: {}\nlissen: x\n")
        let config = cafe(["batch", "run", "--local", "--home", home, directory.path + "/seed.yaml"])
        #expect(config.status == 2)
        #expect(config.stderr.contains(home + "/config/node.yaml:4:1: lissen: unknown key 'lissen'"))
    }

    @Test("a private key readable by others is refused with exit 2")
    func looseKey() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let home = try seedHome(directory)
        chmod(home + "/keys/node.key", 0o644)
        let run = cafe(["batch", "run", "--local", "--home", home, directory.path + "/seed.yaml"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("chmod 600"))
    }

    @Test("without --local and without a running node: exit 3")
    func noNode() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let home = try seedHome(directory)
        let run = cafe(["batch", "run", "--home", home, directory.path + "/seed.yaml"])
        #expect(run.status == 3)
        #expect(run.stderr.contains("cafe-node"))
    }
}
