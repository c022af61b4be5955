import CafeCore
import CafeCrypto
import CafeWire
import Glibc

/// `batches/running/ID.journal`: the engine's records, one line each, appended and flushed
/// before the node acts on them. A line cut short by a crash (no final newline) is ignored:
/// nothing was done about it yet.
///
/// ```
/// started 1795966212345
/// group 0 0 1795966212346
/// state 0 monk1 sent
/// state 0 monk1 no-answer bm90IGRlbGl2ZXJlZA==       (note in base64)
/// result 0 jlore ZW52ZWxvcGU6IDEK...                 (the signed result envelope in base64)
/// undeliverable 1 bm8gZGVsaXZlcnkueWFtbCBlbnRyeQ==
/// admit 0 web3 1795966212400                       (one more host of a windowed group started)
/// check 0 1 1795966213000                           (group 1's check started)
/// passed 0 1 1795966214000                          (group 1 succeeded; its pause runs from here)
/// pause / resume / cancel 1795966215000             (the operator's)
/// request-end 0 ok
/// request-end 1 failed Z3JvdXAgMiBleGNlZWRlZA==     (why it stopped, in base64)
/// end done
/// ```
///
/// The file is opened for each append, not held open: a node with 10,000 batches waiting for a
/// host that is down would otherwise hold 10,000 descriptors (the default limit is 1,024).
///
/// Public so that the micro benchmarks (`Benchmarks/`) can time an append with its sync.
public struct BatchJournal: Sendable {
    let path: String

    /// Creates the journal file if it is missing; throws when it cannot be opened.
    public init(path: String) throws {
        self.path = path
        try Self.withFile(path) { _ in }
    }

    /// Appends `records` and flushes them to disk. Records that only say requests were handed
    /// out (`sent`) are not flushed on their own: losing them in a crash only makes the node
    /// hand the stored request out again, and its host answers `duplicate`; the next flushed
    /// append makes them durable with it. (`running`, the host's acknowledgement, is flushed:
    /// it is the proof of delivery that tells `no-answer` from `expired`.)
    public func append(_ records: [JournalRecord]) throws {
        if try appendUnflushed(records) { try flush() }
    }

    /// Appends `records` without flushing them; returns whether they need a flush (``flush()``)
    /// before anything is done about them: false when they are all progress only.
    public func appendUnflushed(_ records: [JournalRecord]) throws -> Bool {
        guard !records.isEmpty else { return false }
        var bytes: [UInt8] = []
        for record in records { bytes.append(contentsOf: Self.line(record).utf8) }
        try Self.withFile(path) { try FileSystem.append(fd: $0, bytes, path: path) }
        return !records.allSatisfy(Self.isProgressOnly)
    }

    /// Flushes what was appended so far to disk.
    public func flush() throws {
        try NodeMetrics.synced("journal") { try FileSystem.flush(path) }
    }

    static func isProgressOnly(_ record: JournalRecord) -> Bool {
        if case .state(_, _, .sent, nil) = record { return true }
        return false
    }

    private static func withFile(_ path: String, _ body: (Int32) throws -> Void) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw EnvironmentError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        try body(fd)
    }

    static func line(_ record: JournalRecord) -> String {
        switch record {
        case .started(let at): "started \(at.milliseconds)\n"
        case .groupStarted(let request, let group, let at): "group \(request) \(group) \(at.milliseconds)\n"
        case .state(let request, let host, let state, let note):
            "state \(request) \(host) \(state.rawValue)" + (note.map { " " + Base64.encode(Array($0.utf8)) } ?? "") + "\n"
        case .result(let request, let host, let signed, _): "result \(request) \(host) \(Base64.encode(Array(signed.utf8)))\n"
        case .requestFailedUndeliverable(let request, let note): "undeliverable \(request) \(Base64.encode(Array(note.utf8)))\n"
        case .admitted(let request, let host, let at): "admit \(request) \(host) \(at.milliseconds)\n"
        case .checkStarted(let request, let group, let at): "check \(request) \(group) \(at.milliseconds)\n"
        case .groupPassed(let request, let group, let at): "passed \(request) \(group) \(at.milliseconds)\n"
        case .paused(let paused): paused ? "pause\n" : "resume\n"
        case .cancelled(let at): "cancel \(at.milliseconds)\n"
        case .requestEnded(let request, let state, let note):
            "request-end \(request) \(state.rawValue)" + (note.map { " " + Base64.encode(Array($0.utf8)) } ?? "") + "\n"
        case .ended(let state): "end \(state.rawValue)\n"
        }
    }

    /// Reads the records of a journal; results are verified again with `keys`. A record that
    /// does not parse, or a result whose signature fails, is an error (the file is quarantined
    /// by the caller), except for a torn last line.
    static func read(_ path: String, keys: KeyRing) throws -> [JournalRecord] {
        guard FileSystem.exists(path) else { return [] }
        let bytes = try FileSystem.read(path, maxBytes: 1 << 30)
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true || bytes.last != UInt8(ascii: "\n") { lines.removeLast() }
        return try lines.enumerated().map { number, line in
            let fields = line.split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
            guard let record = decode(fields, keys: keys) else {
                throw InputError(source: path, line: number + 1, message: "unreadable journal record")
            }
            return record
        }
    }

    private static func decode(_ fields: [String], keys: KeyRing) -> JournalRecord? {
        func text(_ index: Int) -> String? {
            guard index < fields.count, let bytes = Base64.decode(fields[index]) else { return nil }
            return String(validating: bytes, as: UTF8.self)
        }
        func time(_ index: Int) -> Timestamp? {
            guard index < fields.count, let value = Int64(fields[index]) else { return nil }
            return Timestamp(milliseconds: value)
        }
        guard let kind = fields.first else { return nil }
        let request = fields.count > 1 ? Int(fields[1]) : nil
        switch (kind, fields.count) {
        case ("started", 2):
            return time(1).map { .started($0) }
        case ("group", 4):
            guard let request, let group = Int(fields[2]), let at = time(3) else { return nil }
            return .groupStarted(request: request, group: group, at: at)
        case ("state", 4), ("state", 5):
            guard let request, let state = HostState(rawValue: fields[3]) else { return nil }
            let note = fields.count == 5 ? text(4) : nil
            if fields.count == 5 && note == nil { return nil }
            return .state(request: request, host: fields[2], state: state, note: note)
        case ("result", 4):
            guard let request, let signed = text(3),
                let envelope = try? Envelope.open(Array(signed.utf8), keys: keys), case .result(let body) = envelope.body
            else { return nil }
            return .result(request: request, host: fields[2], signed: signed, result: body.result)
        case ("undeliverable", 3):
            guard let request, let note = text(2) else { return nil }
            return .requestFailedUndeliverable(request: request, note: note)
        case ("admit", 4):
            guard let request, let at = time(3) else { return nil }
            return .admitted(request: request, host: fields[2], at: at)
        case ("check", 4), ("passed", 4):
            guard let request, let group = Int(fields[2]), let at = time(3) else { return nil }
            return kind == "check" ? .checkStarted(request: request, group: group, at: at) : .groupPassed(request: request, group: group, at: at)
        case ("pause", 1), ("resume", 1):
            return .paused(kind == "pause")
        case ("cancel", 2):
            return time(1).map { .cancelled($0) }
        case ("request-end", 3), ("request-end", 4):
            guard let request, let state = RequestState(rawValue: fields[2]) else { return nil }
            let note = fields.count == 4 ? text(3) : nil
            if fields.count == 4 && note == nil { return nil }
            return .requestEnded(request: request, state: state, note: note)
        case ("end", 2):
            return BatchState(rawValue: fields[1]).map { .ended($0) }
        default:
            return nil
        }
    }
}
