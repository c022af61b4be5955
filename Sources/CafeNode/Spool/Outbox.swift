import CafeCore
import CafeCrypto
import CafeWire

/// `spool/outbox/`: every envelope this node must deliver, one file each (`ID.env`, the exact
/// signed bytes), written before the envelope is sent and removed when the receiver acknowledges
/// it. At-least-once delivery: whatever is here is sent again after a reconnect or a restart.
struct Outbox {
    struct Entry: Sendable {
        var envelope: Envelope
        var path: String
        /// When it was last handed to a transport; nil when never.
        var lastSent: Timestamp?
        /// How many times it was handed to a transport.
        var attempts = 0
        var target: String { envelope.header.target }

        /// Seconds to wait after a send before sending again unacknowledged: 5 s, doubling per
        /// attempt, at most 5 minutes (store-and-forward backoff).
        var retryDelay: Double { min(300, 5 * Double(1 << min(max(attempts - 1, 0), 10))) }

        /// Whether it should be (re)sent at `now`.
        func isDue(at now: Timestamp) -> Bool {
            guard let lastSent else { return true }
            return now.seconds(since: lastSent) >= retryDelay
        }
    }

    let directory: String
    private(set) var entries: [String: Entry] = [:]

    init(directory: String) {
        self.directory = directory
    }

    /// Loads the outbox; files that do not verify are moved to `quarantine` and named in the result.
    mutating func load(keys: KeyRing, quarantine: Quarantine) throws -> [String] {
        try FileSystem.makeDirectory(directory)
        var problems: [String] = []
        for name in try FileSystem.list(directory) where !name.hasPrefix(".") {
            let path = directory + "/" + name
            do {
                guard name.hasSuffix(".env") else { throw InputError(source: path, message: "unexpected file in the outbox") }
                let envelope = try Envelope.open(try FileSystem.read(path, maxBytes: EnvelopeLimits.maxBytes), keys: keys, source: path)
                entries[envelope.header.id] = Entry(envelope: envelope, path: path)
            } catch {
                problems.append(try quarantine.take(path, reason: "\(error)"))
            }
        }
        return problems
    }

    /// Stores `envelope` durably; from now on it will be delivered.
    mutating func add(_ envelope: Envelope) throws {
        let path = directory + "/" + envelope.header.id + ".env"
        try FileSystem.writeAtomically(envelope.bytes, to: path)
        entries[envelope.header.id] = Entry(envelope: envelope, path: path)
    }

    /// Removes the envelope with `id` (it was acknowledged or withdrawn); returns it.
    @discardableResult
    mutating func remove(_ id: String) throws -> Entry? {
        guard let entry = entries.removeValue(forKey: id) else { return nil }
        try FileSystem.remove(entry.path)
        return entry
    }

    mutating func markSent(_ id: String, at time: Timestamp) {
        entries[id]?.lastSent = time
        entries[id]?.attempts += 1
    }

    /// Makes every entry for `peers` due now (a link to them just came up).
    mutating func makeDue(_ peers: Set<String>) {
        for (id, entry) in entries where peers.contains(entry.target) { entries[id]?.lastSent = nil }
    }

    /// Removes entries whose envelope expired at or before `now`; returns them.
    mutating func removeExpired(now: Timestamp) throws -> [Entry] {
        let expired = entries.values.filter { $0.envelope.header.expires <= now }
        for entry in expired { try remove(entry.envelope.header.id) }
        return expired
    }

    /// Entries for `peer`, oldest first (ids begin with their creation time).
    func pending(for peer: String) -> [Entry] {
        entries.values.filter { $0.target == peer }.sorted { $0.envelope.header.id < $1.envelope.header.id }
    }

    /// The request envelope of `origin` waiting for (batch, index, host), if any.
    func request(origin: String, batch: String, index: Int, host: String) -> Entry? {
        entries.values.first {
            guard case .request(let body) = $0.envelope.body else { return false }
            return $0.envelope.header.origin == origin && body.batch == batch && body.index == index && $0.target == host
        }
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
