import CafeCore
import CafeTestSupport
import Testing

/// Every parse and check is linear in its input: for each YAML shape a hostile or merely large
/// file can take, reading n and 8n elements is timed in seven pairs, one right after the other
/// (the suite runs tests in parallel, and other work on the machine slows both of a pair alike),
/// and the median of the pairs' ratios may be at most 16. A quadratic step costs 64 times; a
/// linear one about 8.
@Suite("linear parsing")
struct ComplexityTests {
    static let n = 2_000

    /// The shapes, each a text of `count` elements and the reader that must take it.
    static let shapes: [(name: String, text: @Sendable (Int) -> String, read: @Sendable (String) throws -> Void)] = [
        ("mapping keys", { count in (0..<count).map { "k\($0): v" }.joined(separator: "\n") }, { try parse($0) }),
        ("list items", { count in (0..<count).map { "- item\($0)" }.joined(separator: "\n") }, { try parse($0) }),
        // Depth itself is capped by the limits (16 levels in config files, 64 in executed files;
        // libyaml's own cost per level grows with the depth), so n nested items, each 12 deep.
        ("nesting", { count in
            (0..<count).map { "- " + String(repeating: "[", count: 6) + "{a: {b: [x\($0)]}}" + String(repeating: "]", count: 6) }
                .joined(separator: "\n")
        }, { try parse($0) }),
        ("data keys", { count in
            "name: big\nrequests:\n  - name: r\n    data:\n" + (0..<count).map { "      k\($0): v" }.joined(separator: "\n")
                + "\n    secrets: [" + (0..<count / 2).map { "k\($0)" }.joined(separator: ", ") + "]\n"
        }, { _ = try BatchInput(yaml: Array($0.utf8), source: "batch.yaml") }),
        ("requests in a batch file", { count in
            "name: long\nrequests:\n" + (0..<count).map { "  - name: r\($0)\n    data: {user: u\($0)}" }.joined(separator: "\n")
        }, { _ = try BatchInput(yaml: Array($0.utf8), source: "batch.yaml") }),
        ("command-map entries", { count in
            (0..<count).map { "r\($0):\n  - echo \($0)\n  - [\"useradd\", \"{{user}}\"]" }.joined(separator: "\n")
        }, { _ = try CommandMap(yaml: Array($0.utf8), source: "commands.yaml") }),
        ("delivery-map hosts", { count in
            "deploy:\n  - [" + (0..<count).map { "h\($0)" }.joined(separator: ", ") + "]\n  - [last]\n"
        }, { _ = try DeliveryMap(yaml: Array($0.utf8), source: "delivery.yaml") }),
    ]

    static func parse(_ text: String, depth: Int = 16) throws {
        var limits = YAMLLimits.config
        limits.maxDepth = depth
        _ = try YAMLParser.parse(text, limits: limits, source: "test.yaml")
    }

    @Test("reading 8n elements costs at most 16 times reading n", arguments: 0..<shapes.count)
    func linear(shape index: Int) throws {
        let shape = Self.shapes[index]
        let smallText = shape.text(Self.n), largeText = shape.text(8 * Self.n)
        let (ratio, small, large) = try growthRatio({ try shape.read(smallText) }, { try shape.read(largeText) })
        print("linear parsing, \(shape.name): \(Self.n) in \(small * 1000) ms, \(8 * Self.n) in \(large * 1000) ms (median ratio \(ratio)×)")
        #expect(ratio < 16, "\(shape.name): \(Self.n) took \(small * 1000) ms, \(8 * Self.n) took \(large * 1000) ms (median ratio \(ratio)×)")
    }

    @Test("request data of 24,000 keys, each looked up once, builds in linear time")
    func requestData() throws {
        func build(_ count: Int) throws {
            var data = RequestData()
            for key in 0..<count { try data.set("key\(key)", "v") }
            for key in 0..<count where data.value(for: "key\(key)") == nil { Issue.record("key\(key) lost") }
        }
        // 3,000 keys take a few milliseconds: large enough that scheduling noise does not decide.
        let (ratio, small, large) = try growthRatio({ try build(3_000) }, { try build(24_000) })
        #expect(ratio < 16, "3,000 keys took \(small * 1000) ms, 24,000 took \(large * 1000) ms (median ratio \(ratio)×)")
    }
}
