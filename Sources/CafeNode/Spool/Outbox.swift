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
        var target: String { envelope.header.target }
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
    }

    /// Entries for `peer`, oldest first (ids begin with their creation time).
    func pending(for peer: String) -> [Entry] {
        entries.values.filter { $0.target == peer }.sorted { $0.envelope.header.id < $1.envelope.header.id }
    }

    /// The request envelope waiting for (batch, index, host), if any.
    func request(batch: String, index: Int, host: String) -> Entry? {
        entries.values.first {
            guard case .request(let body) = $0.envelope.body else { return false }
            return body.batch == batch && body.index == index && $0.target == host
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
        let target = directory + "/" + FileSystem.basename(of: path)
        try FileSystem.move(path, to: target)
        try FileSystem.writeAtomically(Array((reason + "\n").utf8), to: target + ".reason")
        return "quarantined \(path) to \(target): \(reason)"
    }
}
