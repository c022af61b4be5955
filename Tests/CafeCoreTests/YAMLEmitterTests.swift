import CafeCore
import CafeTestSupport
import Testing
import Yams

@Suite("YAML emitter")
struct YAMLEmitterTests {
    @Test("random nasty strings round-trip through our parser and through Yams")
    func roundTrip() throws {
        var random = SeededRandom(state: 20_261_129)
        for _ in 0..<3000 {
            let key = NastyStrings.make(&random)
            let value = NastyStrings.make(&random)
            let item = NastyStrings.make(&random)
            let yaml = YAMLEmitter.emit(.map([
                YAMLPair("k", .string(value)),
                YAMLPair(key.isEmpty ? "x" : key, .string(item)),
                YAMLPair("list", .list([.string(item), .string(value)])),
                YAMLPair("nested", .map([YAMLPair("deep", .list([.map([YAMLPair("v", .string(value))])]))])),
            ]))
            // Our hardened parser.
            let root = try YAMLReader.document(Array(yaml.utf8), limits: .config, source: "emitted")
            let mapping = try root.mapping()
            #expect(try mapping.required("k").string() == value, "value \(value.debugDescription) in:\n\(yaml)")
            #expect(try mapping.required(key.isEmpty ? "x" : key).string() == item, "key \(key.debugDescription) in:\n\(yaml)")
            #expect(try mapping.required("list").stringList() == [item, value])
            // Yams, an independent reader of the same text. Yams turns scalars into Swift strings
            // through Foundation, which drops a leading U+FEFF (it takes it for a byte-order
            // mark) even when the YAML escapes it; our own reader above keeps it.
            let decoded = try YAMLDecoder().decode(Shape.self, from: yaml)
            let (yamsValue, yamsItem) = (Self.yamsView(value), Self.yamsView(item))
            #expect(decoded.k == yamsValue, "Yams read \(decoded.k.debugDescription) for \(value.debugDescription) in:\n\(yaml)")
            #expect(decoded.list == [yamsItem, yamsValue])
            #expect(decoded.nested.deep.first?.v == yamsValue)
        }
    }

    static func yamsView(_ text: String) -> String {
        text.unicodeScalars.first == "\u{FEFF}" ? String(text.unicodeScalars.dropFirst()) : text
    }

    @Test("a doubled space is quoted, a single one is not; node names never hold '..'")
    func doubledCharacters() throws {
        #expect(YAMLEmitter.emit(.map([YAMLPair("k", .string("a  b"))])) == "k: 'a  b'\n")
        #expect(YAMLEmitter.emit(.map([YAMLPair("k", .string("a b c"))])) == "k: a b c\n")
        for (text, doubled) in [("a..b", true), ("a.b.c", false), (".", false), ("é..", true), ("", false), ("..", true)] {
            #expect(text.hasDoubled(".") == doubled, "\(text)")
        }
        #expect(!Names.isValidNode("web..1") && Names.isValidNode("web.1"))
    }

    @Test("Yams's leading-U+FEFF quirk is the only difference (our reader keeps it)")
    func byteOrderMarkQuirk() throws {
        let yaml = YAMLEmitter.emit(.map([YAMLPair("k", .string("\u{FEFF}x"))]))
        #expect(try YAMLReader.document(Array(yaml.utf8), limits: .config, source: "t").mapping().required("k").string() == "\u{FEFF}x")
        #expect(try YAMLDecoder().decode([String: String].self, from: yaml)["k"] == "x")
    }

    struct Shape: Decodable {
        var k: String
        var list: [String]
        var nested: Nested
        struct Nested: Decodable {
            var deep: [Inner]
        }
        struct Inner: Decodable {
            var v: String
        }
    }

    @Test("multi-line printable text becomes a literal block a person can read")
    func literalBlocks() throws {
        let output = "  PID TTY\n    1 ?\n\nend\n"
        let yaml = YAMLEmitter.emit(.map([YAMLPair("stdout", .string(output))]))
        #expect(yaml == "stdout: |2\n    PID TTY\n      1 ?\n\n  end\n")
        let back = try YAMLReader.document(Array(yaml.utf8), limits: .config, source: "t").mapping().required("stdout").string()
        #expect(back == output)
    }

    @Test("trailing newlines are kept exactly (strip, clip and keep chomping)")
    func chomping() throws {
        for text in ["a\nb", "a\nb\n", "a\nb\n\n", "a\nb\n\n\n", "\n\na", "\n", "\n\n", " \n x"] {
            let yaml = YAMLEmitter.emit(.map([YAMLPair("v", .string(text)), YAMLPair("after", .string("x"))]))
            let mapping = try YAMLReader.document(Array(yaml.utf8), limits: .config, source: "t").mapping()
            #expect(try mapping.required("v").string() == text, "for \(text.debugDescription):\n\(yaml)")
            #expect(try YAMLDecoder().decode([String: String].self, from: yaml)["v"] == text)
        }
    }

    @Test("control characters, separators and byte-order marks are escaped, never written raw")
    func escapes() {
        let yaml = YAMLEmitter.emit(.map([YAMLPair("v", .string("a\u{0}b\u{1B}c\u{2028}d\u{FEFF}e\r"))]))
        #expect(yaml == "v: \"a\\0b\\x1Bc\\u2028d\\uFEFFe\\r\"\n")
        #expect(!yaml.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
    }

    @Test("words that YAML would read as something else are quoted")
    func ambiguousWords() {
        for word in ["true", "No", "null", "~", "123", "1.5", "-", "2026-11-29", "y", ""] {
            let yaml = YAMLEmitter.emit(.map([YAMLPair("v", .string(word))]))
            #expect(yaml != "v: \(word)\n", "\(word) must be quoted")
        }
        #expect(YAMLEmitter.emit(.map([YAMLPair("v", .string("cranky"))])) == "v: cranky\n")
        #expect(YAMLEmitter.emit(.map([YAMLPair("v", .string("/usr/bin/blahh"))])) == "v: /usr/bin/blahh\n")
    }

    @Test("seconds are written with three decimals")
    func seconds() {
        #expect(YAMLEmitter.formatSeconds(0.0004) == "0.000")
        #expect(YAMLEmitter.formatSeconds(1.2345) == "1.235")
        #expect(YAMLEmitter.formatSeconds(300) == "300.000")
        #expect(YAMLEmitter.formatSeconds(-0.5) == "-0.500")
    }
}
