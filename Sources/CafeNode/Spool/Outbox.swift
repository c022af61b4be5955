import CafeCore
import CafeCrypto
import CafeWire

/// `spool/outbox/`: every envelope this node must deliver, one file each (`ID.env`, the exact
/// signed bytes), written before the envelope is sent and removed when the receiver acknowledges
/// it. At-least-once delivery: whatever is here is sent again after a reconnect or a restart.
/// A host's results are the exception: the request spool holds each one durably and queues it
/// again after a restart until it is acknowledged, so their entries live in memory only.
struct Outbox {
    struct Entry: Sendable {
        var envelope: Envelope
        /// Its file; nil when another store keeps the envelope durably (a host's result).
        var path: String?
        /// When it was last handed to a transport; nil when never.
        var lastSent: Timestamp?
        /// How many times it was handed to a transport.
        var attempts = 0
        var target: String { envelope.header.target }

        /// Seconds to wait after a send before sending again unacknowledged: 5 s, doubling per
        /// attempt, at most 5 minutes (store-and-forward backoff).
        var retryDelay: Double { min(300, 5 * Double(1 << min(max(attempts - 1, 0), 10))) }

        /// When it should be (re)sent: at once if never sent, else `retryDelay` after the last send.
        var dueAt: Timestamp { lastSent.map { $0.adding(seconds: retryDelay) } ?? Timestamp(milliseconds: 0) }

        /// Whether it should be (re)sent at `now`.
        func isDue(at now: Timestamp) -> Bool { dueAt <= now }
    }

    /// An entry's place in a schedule: when, and which (ties in id order).
    struct Scheduled: Comparable, Sendable {
        var at: Timestamp
        var id: String
        static func < (lhs: Scheduled, rhs: Scheduled) -> Bool { (lhs.at, lhs.id) < (rhs.at, rhs.id) }
    }

    let directory: String
    private(set) var entries: [String: Entry] = [:]
    /// Ids by target, and request ids by (origin, batch, index, target): lookups stay cheap with
    /// tens of thousands of entries.
    private var byTarget: [String: Set<String>] = [:]
    private var requests: [RequestSlot: String] = [:]
    /// When entries are due, and when they expire: each tick looks only at what is due, never
    /// at every entry. An entry may be in `schedule` more than once; an item counts only while
    /// it matches the entry's `dueAt`.
    private var schedule = MinHeap<Scheduled>()
    private var expiries = MinHeap<Scheduled>()
    /// Targets whose last delivery failed: their entries leave the schedule until the target is
    /// reachable again (``unpark(_:except:)``), so a peer that is down for a day costs nothing
    /// per tick whatever it has waiting.
    /// (Target → when a delivery to it last failed.)
    private(set) var parked: [String: Timestamp] = [:]

    struct RequestSlot: Hashable {
        var origin: String
        var batch: String
        var index: Int
        var host: String
    }

    init(directory: String) {
        self.directory = directory
    }

    private mutating func index(_ entry: Entry) {
        let id = entry.envelope.header.id
        entries[id] = entry
        byTarget[entry.target, default: []].insert(id)
        if let slot = Self.slot(entry.envelope) { requests[slot] = id }
        schedule.push(Scheduled(at: entry.dueAt, id: id))
        expiries.push(Scheduled(at: entry.envelope.header.expires, id: id))
    }

    private static func slot(_ envelope: Envelope) -> RequestSlot? {
        guard case .request(let body) = envelope.body else { return nil }
        return RequestSlot(origin: envelope.header.origin, batch: body.batch, index: body.index, host: envelope.header.target)
    }

    /// Loads the outbox; files that do not verify are moved to `quarantine` and named in the result.
    mutating func load(keys: KeyRing, quarantine: Quarantine) throws -> [String] {
        try FileSystem.makeDirectory(directory)
        var problems: [String] = []
        let names = try FileSystem.list(directory)
        // Temporary files of writes a crash interrupted (never renamed into place).
        for name in names where name.hasPrefix(".") && name.contains(".tmp-") { try FileSystem.remove(directory + "/" + name) }
        for name in names where !name.hasPrefix(".") {
            let path = directory + "/" + name
            do {
                guard name.hasSuffix(".env") else { throw InputError(source: path, message: "unexpected file in the outbox") }
                let envelope = try Envelope.open(try FileSystem.read(path, maxBytes: EnvelopeLimits.maxBytes), keys: keys, source: path)
                index(Entry(envelope: envelope, path: path))
            } catch {
                problems.append(try quarantine.take(path, reason: "\(error)"))
            }
        }
        return problems
    }

    /// Stores `envelope` durably; from now on it will be delivered.
    mutating func add(_ envelope: Envelope) throws { try add([envelope]) }

    /// Queues `envelope`, which another store already keeps durably and queues again after a
    /// restart (a result in the request spool): no file, no sync.
    mutating func add(kept envelope: Envelope) { index(Entry(envelope: envelope, path: nil)) }

    /// Stores `envelopes` durably, with one sync of the outbox directory for all of them (a
    /// group of hosts started in one step); from now on they will be delivered.
    mutating func add(_ envelopes: [Envelope]) throws {
        guard !envelopes.isEmpty else { return }
        let files = envelopes.map { (bytes: $0.bytes, name: $0.header.id + ".env") }
        try NodeMetrics.synced("outbox") { try FileSystem.writeAtomically(files, in: directory) }
        for envelope in envelopes { index(Entry(envelope: envelope, path: directory + "/" + envelope.header.id + ".env")) }
    }

    /// Removes the envelope with `id` (it was acknowledged or withdrawn); returns it. An
    /// acknowledged one need not be `synced`: if a crash brings it back, it is sent again and
    /// answered `duplicate`. A withdrawn one must, or it could reach its host after all.
    @discardableResult
    mutating func remove(_ id: String, synced: Bool = true) throws -> Entry? {
        guard let entry = entries.removeValue(forKey: id) else { return nil }
        byTarget[entry.target]?.remove(id)
        if byTarget[entry.target]?.isEmpty == true { byTarget[entry.target] = nil }
        if let slot = Self.slot(entry.envelope), requests[slot] == id { requests[slot] = nil }
        if let path = entry.path { try FileSystem.remove(path, synced: synced) }
        return entry
    }

    mutating func markSent(_ id: String, at time: Timestamp) {
        guard var entry = entries[id] else { return }
        entry.lastSent = time
        entry.attempts += 1
        entries[id] = entry
        schedule.push(Scheduled(at: entry.dueAt, id: id))
    }

    /// Every entry due at `now` (not parked), oldest first, taken off the schedule: the caller
    /// sends each (``markSent(_:at:)`` schedules it again) or parks its target.
    mutating func takeDue(at now: Timestamp) -> [Entry] {
        var taken: [String: Entry] = [:]
        while let next = schedule.min, next.at <= now {
            _ = schedule.popMin()
            guard let entry = entries[next.id], entry.dueAt == next.at, parked[entry.target] == nil else { continue }
            taken[next.id] = entry
        }
        return taken.keys.sorted().compactMap { taken[$0] }
    }

    /// Takes `target`'s entries off the schedule until ``unpark(_:except:)``: a delivery to
    /// it failed at `time`.
    mutating func park(_ target: String, at time: Timestamp) { parked[target] = time }

    /// Makes every entry for `target` (but `except`) due now: it is reachable again.
    mutating func unpark(_ target: String, except: String? = nil) {
        parked[target] = nil
        for id in byTarget[target] ?? [] where id != except {
            entries[id]?.lastSent = nil
            schedule.push(Scheduled(at: Timestamp(milliseconds: 0), id: id))
        }
    }

    /// How long the oldest entry has waited at `now`, in seconds (0 when empty); ids begin
    /// with their creation time, so the smallest id is the oldest.
    func oldestAge(at now: Timestamp) -> Double {
        guard let oldest = entries.keys.min().flatMap({ entries[$0] }) else { return 0 }
        return max(0, now.seconds(since: oldest.envelope.header.created))
    }

    /// The oldest entry for `target`: what a parked target is tried with.
    func oldest(for target: String) -> Entry? {
        byTarget[target]?.min().flatMap { entries[$0] }
    }

    /// Every target with something waiting.
    var targets: Dictionary<String, Set<String>>.Keys { byTarget.keys }

    /// Removes entries whose envelope expired at or before `now`; returns them. Looks only at
    /// what expires by then.
    mutating func removeExpired(now: Timestamp) throws -> [Entry] {
        var expired: [Entry] = []
        while let next = expiries.min, next.at <= now {
            _ = expiries.popMin()
            guard let entry = entries[next.id], entry.envelope.header.expires <= now else { continue }
            expired.append(entry)
            try remove(next.id)
        }
        return expired
    }

    /// How many answers (results and plan answers) wait for `peer`.
    func answers(for peer: String) -> Int {
        (byTarget[peer] ?? []).reduce(0) { count, id in
            [.result, .planAnswer].contains(entries[id]?.envelope.header.kind) ? count + 1 : count
        }
    }

    /// Entries for `peer`, oldest first (ids begin with their creation time).
    func pending(for peer: String) -> [Entry] {
        (byTarget[peer] ?? []).sorted().compactMap { entries[$0] }
    }

    /// The request envelope of `origin` waiting for (batch, index, host), if any.
    func request(origin: String, batch: String, index: Int, host: String) -> Entry? {
        requests[RequestSlot(origin: origin, batch: batch, index: index, host: host)].flatMap { entries[$0] }
    }
}

/// `spool/quarantine/`: files that failed verification or parsing when loaded, kept (never
/// silently dropped) with a `.reason` file beside each.
struct Quarantine {
    let directory: String

    /// Moves `path` into quarantine and writes why; returns a line for the log.
    func take(_ path: String, reason: String) throws -> String {
        try FileSystem.makeDirectory(directory)
        var target = directory + "/" + FileSystem.basename(of: path)
        var suffix = 1
        while FileSystem.exists(target) || FileSystem.exists(target + ".reason") {
            target = directory + "/" + FileSystem.basename(of: path) + ".\(suffix)"
            suffix += 1
        }
        try FileSystem.move(path, to: target)
        try FileSystem.writeAtomically(Array((reason + "\n").utf8), to: target + ".reason")
        return "quarantined \(path) to \(target): \(reason)"
    }
}
