import CafeCore
import CafeCrypto
import CafeWire

/// Identifies one request a host was asked to run: which origin, which batch, which position.
/// A host runs each key at most once, whatever envelopes carry it.
struct RequestKey: Sendable, Hashable, CustomStringConvertible {
    var origin: String
    var batch: BatchID
    var index: Int

    /// `ORIGIN.BATCH.INDEX`, built only from validated parts, so it is safe as a file name.
    var stem: String { "\(origin).\(batch.rawValue).\(index)" }
    var description: String { "\(batch.rawValue)[\(index)] from \(origin)" }
}

/// `spool/requests/`: the host side's durable request queue.
///
/// - `KEY.request` — the verified request envelope, stored before it is acknowledged;
/// - `KEY.running` — written before the first command starts (so a crash never leads to a
///   second run: after a restart the request is reported as interrupted instead);
/// - `KEY.result` — the signed result, stored before it is sent home.
///
/// Entries are kept until their request expires, so a duplicate is answered with the stored
/// result instead of running again.
struct RequestSpool {
    enum Stage: Sendable, Equatable {
        case stored
        case running
        case finished(Envelope)
    }

    struct Entry: Sendable {
        var request: Envelope
        var stage: Stage
    }

    let directory: String
    private(set) var entries: [RequestKey: Entry] = [:]
    /// Entries whose result the asker acknowledged (`KEY.delivered`).
    private(set) var delivered: Set<RequestKey> = []

    init(directory: String) {
        self.directory = directory
    }

    func path(_ key: RequestKey, _ suffix: String) -> String { directory + "/" + key.stem + "." + suffix }

    /// Loads every entry; unreadable files go to quarantine.
    mutating func load(keys: KeyRing, quarantine: Quarantine) throws -> [String] {
        try FileSystem.makeDirectory(directory)
        var problems: [String] = []
        let all = try FileSystem.list(directory)
        // Temporary files of writes a crash interrupted (never renamed into place).
        for name in all where name.hasPrefix(".") && name.contains(".tmp-") { try FileSystem.remove(directory + "/" + name) }
        let names = all.filter { !$0.hasPrefix(".") }
        for name in names where name.hasSuffix(".request") {
            let path = directory + "/" + name
            do {
                let envelope = try Envelope.open(try FileSystem.read(path, maxBytes: EnvelopeLimits.maxBytes), keys: keys, source: path)
                guard let key = Self.key(envelope) else { throw InputError(source: path, message: "not a request envelope") }
                var entry = Entry(request: envelope, stage: .stored)
                if FileSystem.exists(self.path(key, "running")) { entry.stage = .running }
                if FileSystem.exists(self.path(key, "delivered")) { delivered.insert(key) }
                let resultPath = self.path(key, "result")
                if FileSystem.exists(resultPath) {
                    do {
                        entry.stage = .finished(try Envelope.open(try FileSystem.read(resultPath, maxBytes: EnvelopeLimits.maxBytes), keys: keys, source: resultPath))
                    } catch {
                        problems.append(try quarantine.take(resultPath, reason: "\(error)"))
                    }
                }
                entries[key] = entry
            } catch {
                problems.append(try quarantine.take(path, reason: "\(error)"))
            }
        }
        return problems
    }

    static func key(_ envelope: Envelope) -> RequestKey? {
        guard case .request(let body) = envelope.body, let batch = BatchID(validating: body.batch) else { return nil }
        return RequestKey(origin: envelope.header.origin, batch: batch, index: body.index)
    }

    mutating func store(_ envelope: Envelope, key: RequestKey) throws {
        try NodeMetrics.synced("spool") { try FileSystem.writeAtomically(envelope.bytes, to: path(key, "request")) }
        entries[key] = Entry(request: envelope, stage: .stored)
    }

    mutating func markRunning(_ key: RequestKey) throws {
        // Durable before the first command starts: after a crash the request is reported
        // interrupted, never run again.
        try NodeMetrics.synced("spool") { try FileSystem.createDurably(path(key, "running")) }
        entries[key]?.stage = .running
    }

    /// Records that the result of `key` was acknowledged by whoever asked for it. Not synced:
    /// if a crash loses the marker, the result is offered again and answered `duplicate`.
    mutating func markDelivered(_ key: RequestKey) throws {
        guard entries[key] != nil, !delivered.contains(key) else { return }
        try FileSystem.touch(path(key, "delivered"))
        delivered.insert(key)
    }

    mutating func storeResult(_ result: Envelope, key: RequestKey) throws {
        try NodeMetrics.synced("spool") { try FileSystem.writeAtomically(result.bytes, to: path(key, "result")) }
        entries[key]?.stage = .finished(result)
    }

    /// Forgets entries that may no longer arrive again: `retainUntil` gives, for an entry whose
    /// own copy expired, the latest instant any copy of that request could still be valid.
    mutating func prune(now: Timestamp, retainUntil: (Envelope) -> Timestamp) throws {
        for (key, entry) in entries where entry.request.header.expires < now && retainUntil(entry.request) < now {
            // Stored and running entries still owe an answer (expired or interrupted).
            guard case .finished = entry.stage else { continue }
            for suffix in ["request", "running", "result", "delivered"] { try FileSystem.remove(path(key, suffix)) }
            entries[key] = nil
            delivered.remove(key)
        }
    }
}
