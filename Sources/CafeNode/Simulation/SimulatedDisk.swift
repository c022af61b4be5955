import CafeCore
import CafeWire

/// A node's disk in a simulation: what each ``DurableWrite`` leaves behind, in two states,
/// what is synced (survives a crash) and what is only written (lost by a crash), per file as
/// `fsync` works: a synced append to a journal or to the seen-set makes the earlier unsynced
/// appends of that file durable too. ``load(keys:)`` reads it back as the shell's
/// ``NodeDisk/load(keys:seen:)`` reads a home, parsing the same YAML.
struct SimulatedDisk: Sendable {
    /// The contents of one file.
    enum Content: Sendable {
        case envelope(Envelope)
        case bytes([UInt8])
        case journal([JournalRecord])
    }

    struct State: Sendable {
        var files: [String: Content] = [:]
        var seen: [String: Timestamp] = [:]
    }

    let home: NodeHome
    private(set) var written = State()
    private(set) var synced = State()

    init(home: NodeHome) {
        self.home = home
    }

    /// Where the model keeps an outbox entry and a spool entry's parts (one file each: the
    /// shell's `spool/node.log` holds them as records).
    static func outboxPath(_ id: String, home: NodeHome) -> String { home.spool + "/outbox/" + id + ".env" }
    static func spoolPath(_ key: RequestKey, _ suffix: String, home: NodeHome) -> String { home.spool + "/requests/" + key.stem + "." + suffix }
    static let spoolSuffixes = ["request", "running", "result", "delivered"]

    /// A crash: whatever was not synced is gone.
    mutating func crash() { written = synced }

    mutating func apply(_ write: DurableWrite) {
        switch write {
        case .outboxAdd(let envelopes):
            for envelope in envelopes { put(Self.outboxPath(envelope.header.id, home: home), .envelope(envelope), synced: true) }
        case .outboxRemove(let id, let isSynced):
            delete(Self.outboxPath(id, home: home), synced: isSynced)
        case .outboxQuarantine(let envelope, _):
            delete(Self.outboxPath(envelope.header.id, home: home), synced: true)
        case .spool(let key, let change):
            let home = home
            let path = { (suffix: String) in Self.spoolPath(key, suffix, home: home) }
            switch change {
            case .store(let envelope): put(path("request"), .envelope(envelope), synced: true)
            case .running: put(path("running"), .bytes([]), synced: true)
            case .result(let envelope): put(path("result"), .envelope(envelope), synced: true)
            case .delivered: put(path("delivered"), .bytes([]), synced: false)
            case .remove: for suffix in Self.spoolSuffixes { delete(path(suffix), synced: true) }
            }
        case .journal(let delivery, let records):
            let path = NodeCore.journalPath(delivery, home: home)
            var all: [JournalRecord] = []
            if case .journal(let before)? = written.files[path] { all = before }
            all += records
            put(path, .journal(all), synced: !records.allSatisfy(BatchJournal.isProgressOnly))
        case .seen(let entries, let isSynced):
            for entry in entries { written.seen[entry.key] = entry.expires }
            if isSynced { synced.seen = written.seen }
        case .seenRewrite(let entries):
            written.seen = entries
            synced.seen = entries
        case .audit:
            break
        case .quarantine(let path, _):
            delete(path, synced: true)
        case .file(let path, let bytes, _):
            put(path, .bytes(bytes), synced: true)
        case .makeDirectory:
            break
        case .remove(let paths):
            for path in paths { delete(path, synced: true) }
        }
    }

    private mutating func put(_ path: String, _ content: Content, synced isSynced: Bool) {
        written.files[path] = content
        if isSynced { synced.files[path] = content }
    }

    private mutating func delete(_ path: String, synced isSynced: Bool) {
        written.files[path] = nil
        if isSynced { synced.files[path] = nil }
    }

    /// The bytes of `path` as they stand (nil when missing or not bytes).
    func bytes(_ path: String) -> [UInt8]? {
        if case .bytes(let bytes)? = written.files[path] { return bytes }
        return nil
    }

    /// Paths under `directory` ending in `suffix`, in name order.
    func paths(in directory: String, ending suffix: String) -> [String] {
        written.files.keys.filter { $0.hasPrefix(directory + "/") && $0.hasSuffix(suffix) }.sorted()
    }

    /// What a start finds: as ``NodeDisk`` loads a home (files that do not parse are dropped,
    /// as quarantined: gone).
    mutating func load(keys: KeyRing) -> LoadedDisk {
        var outbox = Outbox()
        for path in paths(in: home.spool + "/outbox", ending: ".env") {
            if case .envelope(let envelope)? = written.files[path] { outbox.add(envelope, durable: true) }
        }
        var spool = RequestSpool()
        for path in paths(in: home.spool + "/requests", ending: ".request") {
            guard case .envelope(let envelope)? = written.files[path], let key = RequestSpool.key(envelope) else { continue }
            var entry = RequestSpool.Entry(request: envelope, stage: .stored)
            if written.files[Self.spoolPath(key, "running", home: home)] != nil { entry.stage = .running }
            if case .envelope(let result)? = written.files[Self.spoolPath(key, "result", home: home)] { entry.stage = .finished(result) }
            spool.load(key, entry, delivered: written.files[Self.spoolPath(key, "delivered", home: home)] != nil)
        }
        var disk = LoadedDisk(outbox: outbox, spool: spool, seen: written.seen)
        for path in paths(in: home.batches(.original), ending: ".yaml") {
            guard let id = BatchID(validating: String(FileSystem.basename(of: path).dropLast(5))),
                [BatchFolder.queue, .running, .done, .error].allSatisfy({ written.files[home.batchFile(id, in: $0)] == nil })
            else { continue }
            delete(path, synced: true)
        }
        for path in paths(in: home.batches(.running), ending: ".yaml") {
            let name = FileSystem.basename(of: path)
            guard let id = BatchID(validating: String(name.dropLast(5))), let planBytes = bytes(path),
                let plan = try? BatchPlan(yaml: planBytes, source: path),
                let original = bytes(home.batchFile(id, in: .original)),
                let batch = try? Batch(originalYAML: original, source: path)
            else {
                delete(path, synced: true)
                continue
            }
            var records: [JournalRecord] = []
            if case .journal(let journal)? = written.files[NodeCore.journalPath(.batch(id), home: home)] { records = journal }
            disk.batches.append(LoadedBatch(batch: batch, plan: plan, journal: records))
        }
        let byStem = Dictionary(uniqueKeysWithValues: spool.entries.map { ($0.key.stem, $0) })
        for path in paths(in: home.spool + "/fanout", ending: ".plan.yaml") {
            let stem = String(FileSystem.basename(of: path).dropLast(".plan.yaml".count))
            guard let (key, entry) = byStem[stem] else {
                delete(path, synced: true)
                continue
            }
            if case .finished = entry.stage {
                for suffix in NodeCore.fanOutSuffixes { delete(NodeCore.fanOutPath(key, suffix, home: home), synced: true) }
                continue
            }
            guard let planBytes = bytes(path), let plan = try? BatchPlan(yaml: planBytes, source: path) else { continue }
            var records: [JournalRecord] = []
            if case .journal(let journal)? = written.files[NodeCore.fanOutPath(key, "journal", home: home)] { records = journal }
            var own: HostResult?
            if let ownBytes = bytes(NodeCore.fanOutPath(key, "own.yaml", home: home)),
                let mapping = try? YAMLReader.document(ownBytes, limits: .executedBatchFile, source: path).mapping()
            {
                own = try? HostResult(mapping)
            }
            disk.fanOuts.append(LoadedFanOut(
                key: key, plan: plan, journal: records, own: own,
                ownStarted: written.files[NodeCore.fanOutPath(key, "own-started", home: home)] != nil))
        }
        return disk
    }
}
