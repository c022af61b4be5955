import Testing

@testable import CafeNode

/// One escaper for everything a person reads: terminal lines, log lines, audit values.
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
}
