import CafeCore
import CafeCrypto
import CafeWire

/// What this node must deliver, as the core knows it: a pure value. Its durable half is a
/// record per envelope in `spool/node.log` (the exact signed bytes), written (by the shell,
/// ``DurableWrite/outboxAdd(_:)``) before the envelope is sent and removed when the receiver
/// acknowledges it. At-least-once delivery: whatever is there is sent again after a reconnect
/// or a restart. A host's results are the exception: the request spool holds each one durably
/// and queues it again after a restart until it is acknowledged, so their entries live in
/// memory only (`durable` false).
struct Outbox: Sendable {
    struct Entry: Sendable {
        var envelope: Envelope
        /// Whether it has a record of its own; false when another store keeps the envelope
        /// durably (a host's result).
        var durable: Bool
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

    private(set) var entries: [String: Entry] = [:]
    /// Ids by target, and request ids by (origin, batch, index, target): lookups stay cheap with
    /// tens of thousands of entries.
    private var byTarget: [String: Set<String>] = [:]
    private var requests: [RequestSlot: String] = [:]
    /// How many answers (results and plan answers) wait for each target: a host asks before
    /// taking every request (``answers(for:)``).
    private var answerCounts: [String: Int] = [:]
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

    private mutating func index(_ entry: Entry) {
        let id = entry.envelope.header.id
        if let old = entries[id] { countAnswer(old, -1) }
        countAnswer(entry, 1)
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

    /// Queues `envelope`; `durable`: it has a record of its own (written by the caller's
    /// ``DurableWrite/outboxAdd(_:)``), else another store keeps it (a result in the request spool).
    mutating func add(_ envelope: Envelope, durable: Bool) { index(Entry(envelope: envelope, durable: durable)) }

    /// Removes the envelope with `id` (it was acknowledged or withdrawn); returns it. Its record,
    /// if it has one, is the caller's to remove.
    @discardableResult
    mutating func remove(_ id: String) -> Entry? {
        guard let entry = entries.removeValue(forKey: id) else { return nil }
        countAnswer(entry, -1)
        byTarget[entry.target]?.remove(id)
        if byTarget[entry.target]?.isEmpty == true { byTarget[entry.target] = nil }
        if let slot = Self.slot(entry.envelope), requests[slot] == id { requests[slot] = nil }
        return entry
    }

    mutating func markSent(_ id: String, at time: Timestamp) {
        guard var entry = entries[id] else { return }
        entry.lastSent = time
        entry.attempts += 1
        entries[id] = entry
        schedule.push(Scheduled(at: entry.dueAt, id: id))
    }

    /// Takes back a ``markSent(_:at:)`` whose envelope found no link: it is due as soon as its
    /// target is unparked, and the failed try does not count towards the backoff.
    mutating func unsent(_ id: String) {
        guard var entry = entries[id], entry.attempts > 0 else { return }
        entry.lastSent = nil
        entry.attempts -= 1
        entries[id] = entry
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

    /// Removes entries whose envelope expired at or before `now`; returns them (their records are
    /// the caller's to remove). Looks only at what expires by then.
    mutating func removeExpired(now: Timestamp) -> [Entry] {
        var expired: [Entry] = []
        while let next = expiries.min, next.at <= now {
            _ = expiries.popMin()
            guard let entry = entries[next.id], entry.envelope.header.expires <= now else { continue }
            expired.append(entry)
            remove(next.id)
        }
        return expired
    }

    /// How many answers (results and plan answers) wait for `peer`.
    func answers(for peer: String) -> Int { answerCounts[peer] ?? 0 }

    private mutating func countAnswer(_ entry: Entry, _ change: Int) {
        guard [.result, .planAnswer].contains(entry.envelope.header.kind) else { return }
        let count = (answerCounts[entry.target] ?? 0) + change
        answerCounts[entry.target] = count == 0 ? nil : count
    }

    /// The request envelope of `origin` waiting for (batch, index, host), if any.
    func request(origin: String, batch: String, index: Int, host: String) -> Entry? {
        requests[RequestSlot(origin: origin, batch: batch, index: index, host: host)].flatMap { entries[$0] }
    }
}

