import CafeCore
import CafeTestSupport
import Testing

@testable import CafeNode

/// One escaper for everything a person reads: terminal lines, log lines, audit values, HTML pages.
@Suite("escaping what people read")
struct EscapingTests {
    @Test("log lines and audit values escape line breaks, C1 and bidirectional controls the way the terminal does")
    func oneEscaper() {
        #expect(LineLogHandler.oneLine("ok\ndeny signer=mallory") == "ok\\u{A}deny signer=mallory")
        #expect(LineLogHandler.oneLine("name\u{202E}txt.exe\u{9B}") == "name\\u{202E}txt.exe\\u{9B}")
        #expect(AuditLog.quoted("activate_dialup") == "activate_dialup")
        #expect(AuditLog.quoted("say \"hi\"\\\n") == "\"say \\\"hi\\\"\\\\\\u{A}\"")
        #expect(AuditLog.quoted("") == "\"\"")
    }

    @Test("HTML: markup characters become references, control characters the terminal's visible escapes")
    func html() {
        #expect(TerminalText.html("<script>alert('x')</script> & \"q\"")
            == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;")
        #expect(TerminalText.html("&amp;") == "&amp;amp;", "text that looks escaped is escaped again")
        #expect(TerminalText.html("\u{1B}]0;owned\u{7}name\u{202E}txt") == "\\u{1B}]0;owned\\u{7}name\\u{202E}txt")
        #expect(TerminalText.html("a\n\tb") == "a\\u{A}\\u{9}b", "one field, one line")
        #expect(TerminalText.html("a\r\n\tb<", multiline: true) == "a\\u{D}\n\tb&lt;", "a <pre> keeps line breaks and tabs")
        #expect(TerminalText.html("naïve 日本 🙂") == "naïve 日本 🙂")
    }

    @Test("HTML escaping of hostile strings leaves no markup character and no control character but line breaks and tabs")
    func htmlOfNastyStrings() {
        var random = SeededRandom(state: 11)
        for _ in 0..<2000 {
            let text = NastyStrings.make(&random) + "<\u{1B}'\"&\u{9B}"
            let escaped = TerminalText.html(text, multiline: true)
            #expect(!escaped.contains { "<>\"'".contains($0) }, "\(escaped)")
            let unsafe = escaped.unicodeScalars.filter {
                $0.properties.generalCategory == .control || (0x202A...0x202E).contains($0.value) || (0x2066...0x2069).contains($0.value)
            }
            #expect(unsafe.allSatisfy { $0 == "\n" || $0 == "\t" }, "\(escaped)")
            #expect(escaped.split(separator: "&", omittingEmptySubsequences: false).dropFirst().allSatisfy { rest in
                ["amp;", "lt;", "gt;", "quot;", "#39;"].contains { rest.hasPrefix($0) }
            }, "every & starts a reference: \(escaped)")
            // Apart from markup, it is the terminal's escaping.
            let plain = String(String.UnicodeScalarView(text.unicodeScalars.filter { !"<>\"'&".unicodeScalars.contains($0) }))
            #expect(TerminalText.html(plain) == TerminalText.safe(plain))
        }
    }
}
