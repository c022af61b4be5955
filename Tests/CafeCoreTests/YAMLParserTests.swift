import CafeCore
import Glibc
import CafeTestSupport
import Testing

@Suite("YAML parser")
struct YAMLParserTests {
    func parse(_ text: String, limits: YAMLLimits = .config) throws -> YAMLNode? {
        try YAMLParser.parse(text, limits: limits, source: "test.yaml")
    }

    func error(_ text: String, limits: YAMLLimits = .config) -> InputError? {
        do {
            _ = try parse(text, limits: limits)
            return nil
        } catch let error as InputError {
            return error
        } catch {
            return nil
        }
    }

    @Test("anchors, aliases and tags are refused with their line")
    func refusesAnchorsAliasesTags() {
        #expect(error("a: &x 1\nb: *x\n")?.message.contains("anchors") == true)
        #expect(error("a: [1]\nb: *x\n")?.message.contains("alias") == true || error("a: [1]\nb: *x\n") != nil)
        let tag = error("a: 1\nb: !!str 2\n")
        #expect(tag?.message.contains("tags") == true)
        #expect(tag?.line == 2)
        #expect(error("a: !custom {x: 1}\n")?.message.contains("tags") == true)
    }

    @Test("a billion-laughs document is refused at once")
    func billionLaughs() {
        var text = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        for level in 1..<10 {
            let previous = String(UnicodeScalar(UInt8(96 + level)))
            let name = String(UnicodeScalar(UInt8(97 + level)))
            text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]\n"
        }
        let start = Monotonic.seconds()
        #expect(error(text) != nil)
        #expect(Monotonic.seconds() - start < 1)
    }

    @Test("nesting deeper than the limit is refused")
    func depth() {
        let failure = error(String(repeating: "[", count: 20) + String(repeating: "]", count: 20), limits: .config)
        #expect(failure?.message.contains("nesting is deeper than 16 levels") == true)
        // libyaml itself stops at 1000 levels, before our counter would see them all.
        let start = Monotonic.seconds()
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(error(deep, limits: .executedBatchFile)?.message.lowercased().contains("nesting") == true)
        #expect(Monotonic.seconds() - start < 1)
    }

    @Test("oversized texts and scalars are refused")
    func sizes() {
        var limits = YAMLLimits.config
        limits.maxBytes = 100
        #expect(error(String(repeating: "a", count: 101), limits: limits)?.message.contains("over the limit") == true)
        limits.maxBytes = 1 << 20
        limits.maxScalarBytes = 10
        #expect(error("a: " + String(repeating: "b", count: 11), limits: limits)?.message.contains("over the limit") == true)
        limits.maxScalarBytes = 100
        limits.maxCollectionCount = 3
        #expect(error("[1, 2, 3, 4]", limits: limits)?.message.contains("more than 3") == true)
    }

    @Test("duplicate keys, complex keys and several documents are refused")
    func structure() {
        let duplicate = error("a: 1\nb: 2\na: 3\n")
        #expect(duplicate?.message.contains("duplicate key 'a'") == true)
        #expect(duplicate?.line == 3)
        #expect(error("? [a]\n: 1\n")?.message.contains("keys") == true)
        #expect(error("a: 1\n---\nb: 2\n")?.message.contains("more than one") == true)
    }

    @Test("broken YAML reports the line and column")
    func malformed() {
        let failure = error("name: jlore\npeers:\n  monk1: {address: 1\n  x: y\n")
        #expect(failure != nil)
        #expect(failure?.line != nil)
        #expect(failure?.description.hasPrefix("test.yaml:") == true)
    }

    @Test("binary garbage is refused, not crashed on")
    func garbage() {
        var random = SeededRandom(state: 7)
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 1...400, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = try? YAMLParser.parse(bytes, limits: .config, source: "garbage")
        }
    }

    @Test("scalars remember whether they were plain and where they were")
    func scalars() throws {
        guard case .mapping(let entries, _)? = try parse("a: 'x'\nb: y\n") else {
            Issue.record("not a mapping")
            return
        }
        guard case .scalar(let a) = entries[0].value, case .scalar(let b) = entries[1].value else {
            Issue.record("not scalars")
            return
        }
        #expect(!a.isPlain && a.text == "x")
        #expect(b.isPlain && b.mark == YAMLMark(line: 2, column: 4))
    }
}
