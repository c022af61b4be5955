import CafeCore
import CafeCrypto
import CafeWire
import Glibc
import Testing

@Suite("replay window")
struct ReplayWindowTests {
    let now = Timestamp(milliseconds: 1_795_966_212_345)

    func header(id: String = "e1", target: String = "jlore", created: Timestamp? = nil, expires: Timestamp? = nil) -> EnvelopeHeader {
        EnvelopeHeader(
            kind: .request, id: id, origin: "monk1", sender: "monk1", target: target, created: created ?? now,
            expires: expires ?? now.adding(seconds: 60))
    }

    @Test("a fresh envelope is admitted once; the same id again is a replay")
    func replay() {
        var window = ReplayWindow(node: "jlore")
        #expect(window.admit(header(), now: now) == .admit)
        guard case .refuse(let reason) = window.admit(header(), now: now.adding(seconds: 1)) else {
            Issue.record("replay admitted")
            return
        }
        #expect(reason.kind == .replayed)
        #expect(reason.message.contains("replayed"))
        #expect(window.admit(header(id: "e2"), now: now) == .admit)
    }

    @Test("expiry edge: refused at the instant it expires, admitted a millisecond before")
    func expiry() {
        let window = ReplayWindow(node: "jlore")
        let expires = now.adding(seconds: 10)
        #expect(window.check(header(expires: expires), now: Timestamp(milliseconds: expires.milliseconds - 1)) == .admit)
        #expect(window.check(header(expires: expires), now: expires) != .admit)
    }

    @Test("skew edge: dated up to max-skew ahead is admitted, one millisecond more is refused")
    func skew() {
        let window = ReplayWindow(node: "jlore", maxSkew: 300)
        let edge = now.adding(seconds: 300)
        #expect(window.check(header(created: edge, expires: edge.adding(seconds: 60)), now: now) == .admit)
        let beyond = Timestamp(milliseconds: edge.milliseconds + 1)
        #expect(window.check(header(created: beyond, expires: beyond.adding(seconds: 60)), now: now) != .admit)
    }

    @Test("envelopes for another target or with an absurd lifetime are refused")
    func targetAndLifetime() {
        let window = ReplayWindow(node: "jlore", maxLifetime: 3600)
        #expect(window.check(header(target: "monk1"), now: now) == .refuse(.init(kind: .wrongTarget, message: "addressed to monk1, not to jlore")))
        #expect(window.check(header(expires: now.adding(seconds: 3601)), now: now) != .admit)
    }

    @Test("pruning forgets only expired ids")
    func prune() {
        var window = ReplayWindow(node: "jlore")
        _ = window.admit(header(id: "short", expires: now.adding(seconds: 5)), now: now)
        _ = window.admit(header(id: "long", expires: now.adding(seconds: 500)), now: now)
        window.prune(now: now.adding(seconds: 10))
        #expect(Set(window.seen.keys) == ["monk1/long"])
    }

    @Test("replay after a restart is refused: the seen-set is durable until expiry")
    func durableAcrossRestart() throws {
        var template = Array("/tmp/cafe-seen-XXXXXX".utf8CString)
        _ = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let directory = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { _ = system("rm -rf '\(directory)'") }
        let path = directory + "/seen.log"
        do {
            let (log, entries) = try SeenLog.open(path, now: now)
            var window = ReplayWindow(node: "jlore", seen: entries)
            let first = header(id: "e1")
            #expect(window.admit(first, now: now) == .admit)
            try log.record([(ReplayWindow.key(first), first.expires)])
            let shortLived = header(id: "gone", expires: now.adding(seconds: 1))
            #expect(window.admit(shortLived, now: now) == .admit)
            try log.record([(ReplayWindow.key(shortLived), shortLived.expires)])
        }
        // "Restart": a new window from the log alone.
        let later = now.adding(seconds: 30)
        let (_, entries) = try SeenLog.open(path, now: later)
        var restarted = ReplayWindow(node: "jlore", seen: entries)
        #expect(restarted.admit(header(id: "e1"), now: later) != .admit)
        #expect(entries["monk1/gone"] == nil, "expired entries are compacted away")
        let compacted = String(decoding: try FileSystem.read(path, maxBytes: 10_000), as: UTF8.self)
        #expect(compacted == "\(now.adding(seconds: 60).milliseconds) monk1/e1\n")
    }
}
