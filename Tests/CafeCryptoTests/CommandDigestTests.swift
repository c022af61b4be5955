import CafeCore
import CafeCrypto
import Testing

@Suite("command-map entry digests")
struct CommandDigestTests {
    func entry(_ yaml: String) throws -> CommandMapEntry {
        try #require(try CommandMap(yaml: Array("deploy:\n".utf8) + Array(yaml.utf8), source: "commands.yaml").entry(for: "deploy"))
    }

    @Test("SHA-256 is libsodium's, as sha256sum prints it (FIPS 180-2 'abc')")
    func sha256() {
        #expect(SHA256.digest(Array("abc".utf8)) == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256Digest.isValid(SHA256.digest([])))
        #expect(!SHA256Digest.isValid("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"))
    }

    @Test("the canonical encoding is the documented YAML, defaults written out, and its digest is stable")
    func canonical() throws {
        let entry = try entry("""
              - echo hello
              - [useradd, -m, --, "{{username:operand}}"]
            """)
        #expect(String(decoding: entry.canonicalYAML, as: UTF8.self) == """
            command-entry: 1
            commands:
              - run: echo hello
              - argv: [useradd, '-m', '--', '{{username:operand}}']
            timeout: 300.000
            output-cap: 1048576

            """)
        // printf "…the text above…" | sha256sum (coreutils), pinned: a change of the encoding breaks every plan.
        #expect(entry.digest == "sha256:e62b72ba570ff24fe31fd8085edb4281e728ee6476b60ab9204a40c83cc03704")
    }

    @Test("how commands.yaml spells an entry does not change its digest; what runs, and how, does")
    func changes() throws {
        let base = try entry("  - echo hello\n  - [true]\n")
        #expect(try entry("  commands:\n    - echo hello\n    - [true]\n  timeout: 300\n").digest == base.digest, "defaults written out")
        #expect(try entry("  - 'echo hello'\n  - ['true']\n").digest == base.digest, "other quoting")
        let changed = [
            try entry("  - echo hello!\n  - [true]\n"),
            try entry("  - echo hello\n"),
            try entry("  - [true]\n  - echo hello\n"),
            try entry("  - echo hello\n  - true\n"),
            try entry("  commands: [echo hello, [true]]\n  timeout: 10\n"),
            try entry("  commands: [echo hello, [true]]\n  output-cap: 10\n"),
        ]
        for other in changed { #expect(other.digest != base.digest, "\(other)") }
        #expect(Set(changed.map(\.digest)).count == changed.count)
    }
}
