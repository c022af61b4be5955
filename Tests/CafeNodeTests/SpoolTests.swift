import CafeCore
import CafeCrypto
import CafeTestSupport
import CafeWire
import Glibc
import Logging
import Testing

@testable import CafeNode

/// The node's durable stores on their own: the outbox, the request spool and the batch
/// journal, each written, read back as a restart reads it, and fed damaged files.
@Suite("spool, outbox and journal")
final class SpoolTests {
    let directory = TemporaryDirectory("cafe-spool")

    deinit { directory.cleanup() }
    let jlore: SigningKey
    let monk1: SigningKey
    let keys: KeyRing
    let now = Timestamp(iso8601: "2026-12-02T10:00:00.000Z")!

    init() throws {
        jlore = try SigningKey.generate()
        monk1 = try SigningKey.generate()
        keys = KeyRing(keys: ["jlore": jlore.publicKey, "monk1": monk1.publicKey])
    }

    var home: NodeHome { NodeHome(directory.path + "/home") }

    /// The node's files under a fresh home, as its shell reads and writes them.
    func disk() throws -> NodeDisk {
        try NodeDisk.open(home: home, clock: ManualClock(now), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }).0
    }

    /// A request of jlore's batch for monk1, position `index`, expiring in `lifetime` seconds.
    func request(_ index: Int = 0, lifetime: Double = 3600, id: String? = nil) -> Envelope {
        let header = EnvelopeHeader(
            kind: .request, id: id ?? "20261202-100000-000-00000000000000\(String(format2: index))", origin: "jlore", sender: "jlore",
            target: "monk1", created: now, expires: now.adding(seconds: lifetime))
        let body = RequestBody(
            batch: "20261202-100000-000-9f2c1a7be301", batchName: "b", index: index, request: "provision", data: [], secrets: [],
            commands: [], answerBy: nil)
        return Envelope.seal(header: header, body: .request(body), key: jlore)
    }

    func result(for request: Envelope, state: HostState = .ok) -> Envelope {
        guard case .request(let body) = request.body else { fatalError("not a request") }
        let header = EnvelopeHeader(
            kind: .result, id: "20261202-100001-000-10000000000000\(String(format2: body.index))", origin: "jlore", sender: "monk1",
            target: "jlore", created: now, expires: now.adding(seconds: 3600))
        return Envelope.seal(header: header, body: .result(ResultBody(
            batch: body.batch, index: body.index, request: body.request, answers: request.header.id,
            result: HostResult(host: "monk1", state: state))), key: monk1)
    }

    /// What a restart finds: a new disk on the same home, loaded.
    func restart() throws -> LoadedDisk {
        try disk().load(keys: keys, seen: [:])
    }

    /// Replaces the line of `spool/node.log` that holds `needle` with `line`.
    func replaceLogLine(holding needle: String, with line: [UInt8]) throws {
        let path = home.spool + "/node.log"
        let lines = try FileSystem.read(path, maxBytes: 1 << 24).split(separator: UInt8(ascii: "\n")).map { Array($0) + [UInt8(ascii: "\n")] }
        #expect(lines.filter { String(decoding: $0, as: UTF8.self).contains(needle) }.count == 1)
        try FileSystem.writeAtomically(lines.flatMap { String(decoding: $0, as: UTF8.self).contains(needle) ? line : $0 }, to: path)
    }

    @Test("the outbox keeps what it must deliver across a restart, finds requests by slot, and quarantines what no longer verifies")
    func outbox() throws {
        let disk = try disk()
        var outbox = Outbox()
        let first = request(0), second = request(1), answer = result(for: request(2))
        try disk.apply([.outboxAdd([first, second, answer])])
        for envelope in [first, second, answer] { outbox.add(envelope, durable: true) }
        #expect(outbox.request(origin: "jlore", batch: "20261202-100000-000-9f2c1a7be301", index: 1, host: "monk1")?.envelope == second)
        #expect(outbox.answers(for: "jlore") == 1 && Set(outbox.entries.values.filter { $0.target == "monk1" }.map(\.envelope.header.id)) == [first.header.id, second.header.id])
        outbox.add(answer, durable: true)
        #expect(outbox.answers(for: "jlore") == 1, "the same answer queued again counts once")
        // A restart reads the same entries; one tampered with (its record's checksum recomputed,
        // so only the signature can tell) does not survive.
        let tampered = Array(String(decoding: second.bytes, as: UTF8.self).replacing("index: 1", with: "index: 7").utf8)
        try replaceLogLine(holding: "outbox \(second.header.id) ", with: NodeLogRecord.outbox(id: second.header.id, envelope: tampered).line)
        var reloaded = try restart().outbox
        #expect(Set(reloaded.entries.keys) == [first.header.id, answer.header.id])
        let reason = try FileSystem.read(disk.quarantine.directory + "/" + second.header.id + ".env.reason", maxBytes: 4096)
        #expect(String(decoding: reason, as: UTF8.self).contains("bad signature"))
        #expect(try FileSystem.read(disk.quarantine.directory + "/" + second.header.id + ".env", maxBytes: 1 << 20) == tampered)
        // Retries back off: 5 s after the first send, 10 s after the second.
        reloaded.markSent(first.header.id, at: now)
        #expect(reloaded.entries[first.header.id]?.isDue(at: now.adding(seconds: 4.9)) == false)
        #expect(reloaded.entries[first.header.id]?.isDue(at: now.adding(seconds: 5)) == true)
        reloaded.markSent(first.header.id, at: now)
        #expect(reloaded.entries[first.header.id]?.isDue(at: now.adding(seconds: 9.9)) == false)
        // A send that found no link does not count.
        reloaded.unsent(first.header.id)
        #expect(reloaded.entries[first.header.id]?.attempts == 1)
        reloaded.unpark("monk1")
        #expect(reloaded.entries[first.header.id]?.isDue(at: now) == true, "a link that came up makes everything due")
        // Acknowledged: gone from memory and disk; expired: removed and returned.
        reloaded.remove(first.header.id)
        try self.disk().apply([.outboxRemove(id: first.header.id, synced: true)])
        #expect(try restart().outbox.entries[first.header.id] == nil)
        #expect(reloaded.answers(for: "jlore") == 1)
        #expect(reloaded.removeExpired(now: now.adding(seconds: 3600)).map(\.envelope) == [answer])
        #expect(reloaded.entries.isEmpty && reloaded.answers(for: "jlore") == 0)
    }

    @Test("each tick takes only what is due, oldest first; a parked target's entries wait until it is unparked")
    func schedule() throws {
        var outbox = Outbox()
        let first = request(0), second = request(1), answer = result(for: request(2))
        for envelope in [second, answer, first] { outbox.add(envelope, durable: true) }
        #expect(outbox.takeDue(at: now).map(\.envelope) == [first, second, answer], "new entries are due at once, oldest id first")
        #expect(outbox.takeDue(at: now).isEmpty, "taken: not again until sent or unparked")
        outbox.markSent(first.header.id, at: now)
        #expect(outbox.takeDue(at: now.adding(seconds: 4)).isEmpty)
        #expect(outbox.takeDue(at: now.adding(seconds: 5)).map(\.envelope) == [first], "due again 5 s after its send")
        // monk1 is down: parked, its entries leave the schedule, jlore's answer is not affected.
        outbox.park("monk1", at: now)
        #expect(outbox.takeDue(at: now.adding(seconds: 60)).isEmpty)
        // A poke: the oldest goes through, so the rest follow; the poked one waits its own retry.
        #expect(outbox.oldest(for: "monk1")?.envelope == first)
        outbox.markSent(first.header.id, at: now.adding(seconds: 60))
        outbox.unpark("monk1", except: first.header.id)
        #expect(outbox.takeDue(at: now.adding(seconds: 61)).map(\.envelope) == [second])
        #expect(outbox.takeDue(at: now.adding(seconds: 70)).map(\.envelope) == [first])
        // Expiry looks only at what expires by then.
        #expect(outbox.removeExpired(now: now.adding(seconds: 3599)).isEmpty)
        #expect(outbox.removeExpired(now: now.adding(seconds: 3600)).count == 3)
        #expect(outbox.entries.isEmpty && outbox.takeDue(at: now.adding(seconds: 7200)).isEmpty)
    }

    @Test("the min-heap pops in order whatever the order of pushes", arguments: [0, 1, 2])
    func heap(seed: UInt64) {
        var random = SeededRandom(state: seed + 1)
        var heap = MinHeap<Int>()
        let values = (0..<2_000).map { _ in Int(random.next() % 500) }
        for value in values { heap.push(value) }
        var popped: [Int] = []
        while let value = heap.popMin() { popped.append(value) }
        #expect(popped == values.sorted())
    }

    @Test("a group of writes keeps every append, in order, when appends are flushed together")
    func groupCommit() throws {
        let disk = try disk()
        let id = BatchID(validating: "20261202-100000-000-9f2c1a7be301")!
        let stored = request(0)
        let key = RequestSpool.key(stored)!
        try disk.apply([
            .journal(.batch(id), [.started(now)]), .audit(AuditLine(allowed: true, fields: [("signer", "jlore")], reason: "first")),
            .journal(.batch(id), [.state(request: 0, host: "monk1", state: .sent, note: nil)]), .seen([("jlore/a", now)], synced: true),
            .spool(key, .store(stored)),
            .journal(.batch(id), [.state(request: 0, host: "monk1", state: .running, note: nil)]),
            .audit(AuditLine(allowed: false, fields: [("signer", "x")], reason: "second")), .seen([("jlore/b", now)], synced: false),
        ])
        let records = try BatchJournal.read(NodeCore.journalPath(.batch(id), home: home), keys: keys)
        #expect(records == [.started(now), .state(request: 0, host: "monk1", state: .sent, note: nil), .state(request: 0, host: "monk1", state: .running, note: nil)])
        let audit = String(decoding: try FileSystem.read(home.auditLog, maxBytes: 1 << 20), as: UTF8.self)
        #expect(audit.split(separator: "\n").map { $0.hasSuffix("reason=first") || $0.hasSuffix("reason=second") } == [true, true])
        let (_, seen) = try SeenLog.open(home.spool + "/seen.log", now: now.adding(seconds: -1))
        #expect(Set(seen.keys) == ["jlore/a", "jlore/b"])
        #expect(try restart().spool.entries[key]?.stage == .stored)
    }

    @Test("an original with no plan and no executed file (a crash while accepting it) goes to quarantine with the reason at start")
    func unacceptedOriginal() throws {
        let disk = try disk()
        let id = BatchID(validating: "20261202-100000-000-9f2c1a7be301")!
        let path = home.batchFile(id, in: .original)
        try FileSystem.writeAtomically(Array("name: b\n".utf8), to: path)
        let finished = BatchID(validating: "20261202-100000-000-0000000000aa")!
        try FileSystem.writeAtomically(Array("name: done\n".utf8), to: home.batchFile(finished, in: .original))
        try FileSystem.writeAtomically(Array("name: done\n".utf8), to: home.batchFile(finished, in: .done))
        #expect(try disk.loadBatches(keys: keys).isEmpty)
        #expect(!FileSystem.exists(path))
        let reason = String(decoding: try FileSystem.read(disk.quarantine.directory + "/" + id.rawValue + ".yaml.reason", maxBytes: 4096), as: UTF8.self)
        #expect(reason.contains("its plan was never written") && reason.contains("submit it again"))
        #expect(FileSystem.exists(home.batchFile(finished, in: .original)), "the original of a finished batch stays")
    }

    @Test("the request spool restores each request's stage after a restart: stored, running, finished, delivered")
    func requestSpool() throws {
        let disk = try disk()
        let stored = request(0), running = request(1), finished = request(2)
        let answer = result(for: finished)
        let key = { (envelope: Envelope) in RequestSpool.key(envelope)! }
        try disk.apply([stored, running, finished].map { .spool(key($0), .store($0)) })
        try disk.apply([.spool(key(running), .running), .spool(key(finished), .running), .spool(key(finished), .result(answer)), .spool(key(finished), .delivered)])
        let reloaded = try restart().spool
        #expect(reloaded.entries[key(stored)]?.stage == .stored)
        #expect(reloaded.entries[key(running)]?.stage == .running)
        #expect(reloaded.entries[key(finished)]?.stage == .finished(answer))
        #expect(reloaded.delivered == [key(finished)])
        // A removed entry is gone after a restart.
        try self.disk().apply([.spool(key(finished), .remove)])
        #expect(Set(try restart().spool.entries.keys) == [key(stored), key(running)])
        // A result that no longer verifies is quarantined; its request stays, reported interrupted.
        let other = request(3)
        try self.disk().apply([.spool(key(other), .store(other)), .spool(key(other), .running), .spool(key(other), .result(answer))])
        try replaceLogLine(holding: "result \(key(other).stem) ", with: NodeLogRecord.result(stem: key(other).stem, envelope: Array("garbage\n".utf8)).line)
        let again = try restart().spool
        #expect(again.entries[key(other)]?.stage == .running)
        #expect(FileSystem.exists(disk.quarantine.directory + "/" + key(other).stem + ".result.reason"))
        #expect(try restart().spool.entries[key(other)]?.stage == .running, "the compacted log no longer holds the result")
    }

    @Test("a home whose outbox and spool are files (before spool/node.log) moves them into the log at start, losing nothing")
    func legacySpool() throws {
        let queued = request(0), ran = request(1)
        let answer = result(for: ran)
        let key = RequestSpool.key(ran)!
        try FileSystem.makeDirectory(home.spool + "/outbox")
        try FileSystem.makeDirectory(home.spool + "/requests")
        try FileSystem.writeAtomically(queued.bytes, to: home.spool + "/outbox/" + queued.header.id + ".env")
        try FileSystem.writeAtomically(ran.bytes, to: home.spool + "/requests/" + key.stem + ".request")
        try FileSystem.writeAtomically([], to: home.spool + "/requests/" + key.stem + ".running")
        try FileSystem.writeAtomically(answer.bytes, to: home.spool + "/requests/" + key.stem + ".result")
        try FileSystem.writeAtomically([1, 2], to: home.spool + "/requests/." + key.stem + ".result.tmp-1-2")
        let loaded = try restart()
        #expect(Set(loaded.outbox.entries.keys) == [queued.header.id])
        #expect(loaded.spool.entries[key]?.stage == .finished(answer))
        #expect(!FileSystem.exists(home.spool + "/outbox") && !FileSystem.exists(home.spool + "/requests"))
        let again = try restart()
        #expect(Set(again.outbox.entries.keys) == [queued.header.id] && again.spool.entries[key]?.stage == .finished(answer))
    }

    @Test("the journal reads back every record it wrote; a torn last line is ignored, a damaged one in the middle is an error")
    func journal() throws {
        let path = directory.path + "/b.journal"
        let answer = result(for: request(0))
        let records: [JournalRecord] = [
            .started(now), .groupStarted(request: 0, group: 0, at: now), .state(request: 0, host: "monk1", state: .sent, note: nil),
            .state(request: 0, host: "monk1", state: .noAnswer, note: "no answer within 30 s"),
            .result(request: 0, host: "monk1", signed: answer.text, result: HostResult(host: "monk1", state: .ok)),
            .admitted(request: 0, host: "web3", at: now), .checkStarted(request: 0, group: 1, at: now), .groupPassed(request: 0, group: 1, at: now),
            .paused(true), .paused(false), .cancelled(now),
            .requestFailedUndeliverable(request: 1, note: "no delivery.yaml entry"), .requestEnded(request: 0, state: .ok, note: nil),
            .requestEnded(request: 1, state: .failed, note: "group 2 exceeded its failure budget"), .ended(.done),
        ]
        let journal = try BatchJournal(path: path)
        try journal.append(records)
        #expect(try BatchJournal.read(path, keys: keys) == records)
        // A crash in the middle of a write: the torn line was never acted on.
        let fd = open(path, O_WRONLY | O_APPEND)
        _ = "state 0 mon".withCString { write(fd, $0, 11) }
        close(fd)
        #expect(try BatchJournal.read(path, keys: keys) == records)
        // A result whose signature no longer holds is not a record to trust.
        let text = String(decoding: try FileSystem.read(path, maxBytes: 1 << 20), as: UTF8.self)
        let forged = text.replacing(Base64.encode(Array(answer.text.utf8)), with: Base64.encode(Array(answer.text.replacing("state: ok", with: "state: failed").utf8)))
        try FileSystem.writeAtomically(Array(forged.utf8), to: path)
        #expect(throws: InputError.self) { try BatchJournal.read(path, keys: keys) }
    }

    @Test("journals hold no file open between appends: thousands of waiting batches stay within the descriptor limit")
    func journalsHoldNoDescriptor() throws {
        /// Descriptors of this process open on files in this test's directory (other tests
        /// running in parallel open their own elsewhere).
        func openHere() throws -> Int {
            try FileSystem.list("/proc/self/fd").filter { fd in
                var target = [UInt8](repeating: 0, count: 4096)
                let count = target.withUnsafeMutableBytes { readlink("/proc/self/fd/\(fd)", $0.baseAddress!, 4095) }
                return count > 0 && String(decoding: target[..<count], as: UTF8.self).hasPrefix(directory.path)
            }.count
        }
        let journals = try (0..<200).map { try BatchJournal(path: directory.path + "/j\($0).journal") }
        for journal in journals { try journal.append([.started(now)]) }
        #expect(try openHere() == 0)
        #expect(try BatchJournal.read(journals[0].path, keys: keys) == [.started(now)])
    }
}

extension String {
    /// Two decimal digits.
    init(format2 value: Int) { self = value < 10 ? "0\(value)" : "\(value)" }
}
