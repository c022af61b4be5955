import CafeCore
import CafeCrypto
import CafeWire
import Logging

/// The node's home as its shell reads and writes it for ``NodeCore``: at start, everything the
/// core resumes from (``load(keys:now:)``); while running, the ``DurableWrite``s of each step,
/// in order (``apply(_:)``). Files that do not verify or parse when loaded go to quarantine,
/// with the reason, never silently dropped.
struct NodeDisk: Sendable {
    let home: NodeHome
    let quarantine: Quarantine
    let seenLog: SeenLog
    let audit: AuditLog
    let logger: Logger

    /// Opens the home's stores (creating what is missing); `seen` is the durable seen-set.
    static func open(home: NodeHome, clock: any WallClock, logger: Logger) throws -> (NodeDisk, seen: [String: Timestamp]) {
        try home.createLayout()
        for directory in ["/outbox", "/requests"] { try FileSystem.makeDirectory(home.spool + directory) }
        let (log, seen) = try SeenLog.open(home.spool + "/seen.log", now: clock.now())
        let disk = NodeDisk(
            home: home, quarantine: Quarantine(directory: home.spool + "/quarantine"), seenLog: log,
            audit: AuditLog(path: home.auditLog, clock: clock), logger: logger)
        return (disk, seen)
    }

    var outboxDirectory: String { home.spool + "/outbox" }
    var requestsDirectory: String { home.spool + "/requests" }
    var fanOutDirectory: String { home.spool + "/fanout" }

    // MARK: - Loading

    /// Everything a previous run left: the outbox, the request spool, batches queued and
    /// running (with their journals), and fan-outs under way.
    func load(keys: KeyRing, seen: [String: Timestamp]) throws -> LoadedDisk {
        var disk = LoadedDisk(outbox: try loadOutbox(keys: keys), spool: try loadSpool(keys: keys), seen: seen)
        disk.batches = try loadBatches(keys: keys)
        disk.fanOuts = try loadFanOuts(keys: keys, spool: disk.spool)
        return disk
    }

    /// Moves `path` to quarantine and logs why.
    func quarantine(_ path: String, reason: String, level: Logger.Level = .error) throws {
        let line = try quarantine.take(path, reason: reason)
        logger.log(level: level, "\(line)")
    }

    /// The names in `directory` (created if missing) that are not temporary files; temporary
    /// files of writes a crash interrupted (never renamed into place) are removed.
    func files(in directory: String) throws -> [String] {
        try FileSystem.makeDirectory(directory)
        let names = try FileSystem.list(directory)
        for name in names where name.hasPrefix(".") && name.contains(".tmp-") { try FileSystem.remove(directory + "/" + name) }
        return names.filter { !$0.hasPrefix(".") }
    }

    func loadOutbox(keys: KeyRing) throws -> Outbox {
        var outbox = Outbox()
        for name in try files(in: outboxDirectory) {
            let path = outboxDirectory + "/" + name
            do {
                guard name.hasSuffix(".env") else { throw InputError(source: path, message: "unexpected file in the outbox") }
                outbox.add(try Envelope.open(try FileSystem.read(path, maxBytes: EnvelopeLimits.maxBytes), keys: keys, source: path), durable: true)
            } catch {
                try quarantine(path, reason: "\(error)")
            }
        }
        return outbox
    }

    func loadSpool(keys: KeyRing) throws -> RequestSpool {
        var spool = RequestSpool()
        for name in try files(in: requestsDirectory) where name.hasSuffix(".request") {
            let path = requestsDirectory + "/" + name
            do {
                let envelope = try Envelope.open(try FileSystem.read(path, maxBytes: EnvelopeLimits.maxBytes), keys: keys, source: path)
                guard let key = RequestSpool.key(envelope) else { throw InputError(source: path, message: "not a request envelope") }
                var entry = RequestSpool.Entry(request: envelope, stage: .stored)
                if FileSystem.exists(RequestSpool.path(key, "running", home: home)) { entry.stage = .running }
                let resultPath = RequestSpool.path(key, "result", home: home)
                if FileSystem.exists(resultPath) {
                    do {
                        entry.stage = .finished(try Envelope.open(try FileSystem.read(resultPath, maxBytes: EnvelopeLimits.maxBytes), keys: keys, source: resultPath))
                    } catch {
                        try quarantine(resultPath, reason: "\(error)")
                    }
                }
                spool.load(key, entry, delivered: FileSystem.exists(RequestSpool.path(key, "delivered", home: home)))
            } catch {
                try quarantine(path, reason: "\(error)")
            }
        }
        return spool
    }

    /// Batches in `batches/running/` (with their journals) and `batches/queue/`.
    func loadBatches(keys: KeyRing) throws -> [LoadedBatch] {
        let running = home.batches(.running)
        for name in try FileSystem.list(running) where name.hasSuffix(".journal") {
            if !FileSystem.exists(running + "/" + name.dropLast(".journal".count) + ".yaml") {
                try quarantine(running + "/" + name, reason: "a journal without its batch plan (the batch had finished)", level: .warning)
            }
        }
        for name in try FileSystem.list(home.batches(.original)) where name.hasSuffix(".yaml") {
            guard let id = BatchID(validating: String(name.dropLast(5))),
                [BatchFolder.queue, .running, .done, .error].allSatisfy({ !FileSystem.exists(home.batchFile(id, in: $0)) })
            else { continue }
            try quarantine(home.batches(.original) + "/" + name, reason: Self.unacceptedReason, level: .warning)
        }
        var loaded: [LoadedBatch] = []
        for folder in [BatchFolder.running, .queue] {
            for name in try FileSystem.list(home.batches(folder)).sorted() where name.hasSuffix(".yaml") {
                let path = home.batches(folder) + "/" + name
                guard let id = BatchID(validating: String(name.dropLast(5))) else {
                    try quarantine(path, reason: "not a batch file name")
                    continue
                }
                let journalPath = NodeCore.journalPath(.batch(id), home: home)
                do {
                    let plan = try BatchPlan(yaml: try FileSystem.read(path, maxBytes: YAMLLimits.batchFile.maxBytes), source: path)
                    let originalPath = home.batchFile(id, in: .original)
                    let batch = try Batch(originalYAML: try FileSystem.read(originalPath, maxBytes: YAMLLimits.batchFile.maxBytes), source: originalPath)
                    loaded.append(LoadedBatch(batch: batch, plan: plan, journal: folder == .queue ? nil : try BatchJournal.read(journalPath, keys: keys)))
                } catch {
                    try quarantine(path, reason: "cannot resume: \(error)")
                    if FileSystem.exists(journalPath) { try quarantine(journalPath, reason: "journal of a quarantined batch") }
                }
            }
        }
        return loaded
    }

    /// Fan-outs under way: those whose request waits in the spool unanswered. The files of one
    /// already answered go; a plan whose request is not in the spool goes to quarantine.
    func loadFanOuts(keys: KeyRing, spool: RequestSpool) throws -> [LoadedFanOut] {
        guard FileSystem.isDirectory(fanOutDirectory) else { return [] }
        let byStem = Dictionary(uniqueKeysWithValues: spool.entries.map { ($0.key.stem, $0) })
        var loaded: [LoadedFanOut] = []
        for file in try FileSystem.list(fanOutDirectory).sorted() where file.hasSuffix(".plan.yaml") {
            let stem = String(file.dropLast(".plan.yaml".count))
            let path = fanOutDirectory + "/" + file
            guard let (key, entry) = byStem[stem] else {
                try quarantine(path, reason: "a fan-out plan without its request in the spool")
                continue
            }
            if case .finished = entry.stage {
                // Answered already (the fan-out ended, or could not start): only files are left.
                try remove(NodeCore.fanOutSuffixes.map { NodeCore.fanOutPath(key, $0, home: home) })
                continue
            }
            do {
                let plan = try BatchPlan(yaml: try FileSystem.read(path, maxBytes: YAMLLimits.batchFile.maxBytes), source: path)
                let journal = try BatchJournal.read(NodeCore.fanOutPath(key, "journal", home: home), keys: keys)
                var own: HostResult?
                let ownPath = NodeCore.fanOutPath(key, "own.yaml", home: home)
                if FileSystem.exists(ownPath) {
                    let mapping = try YAMLReader.document(try FileSystem.read(ownPath, maxBytes: EnvelopeLimits.maxBytes), limits: .executedBatchFile, source: ownPath).mapping()
                    own = try HostResult(mapping)
                }
                loaded.append(LoadedFanOut(
                    key: key, plan: plan, journal: journal, own: own, ownStarted: FileSystem.exists(NodeCore.fanOutPath(key, "own-started", home: home))))
            } catch {
                try quarantine(path, reason: "cannot resume the fan-out: \(error)")
            }
        }
        return loaded
    }

    /// Why an original with no plan and no executed file is quarantined at start.
    static let unacceptedReason =
        "a batch this node was accepting when it stopped: its plan was never written, so it never started and cafe was never told it was accepted; submit it again"

    // MARK: - Writing

    /// Carries out `writes` in order; the first that fails stops the rest and is thrown.
    ///
    /// Group commit: appends (journal records, audit lines, seen ids) and the request spool's
    /// files (requests, `running` marks, results) are written at once but made durable
    /// together, before the next write of another kind and at the end: the journal records of
    /// fifty acknowledgements handled in one go cost one flush, not fifty, and twenty requests
    /// stored and started in one go one sync of the spool directory. All of them are durable
    /// before the shell acts on any. Within such a run a crash may keep some and lose others,
    /// so the order that matters is kept: spool files before the `running` marks, and both
    /// before the seen ids (a request's id never outlives a request that was lost). A request
    /// without its mark runs after a restart, never having run; a result stands alone.
    func apply(_ writes: [DurableWrite]) throws {
        var unflushed = Unflushed()
        for write in writes {
            switch write {
            case .spool(let key, .store(let envelope)):
                unflushed.spool(key.stem + ".request", envelope.bytes)
            case .spool(let key, .running):
                unflushed.markers.append(key.stem + ".running")
            case .spool(let key, .result(let envelope)):
                unflushed.spool(key.stem + ".result", envelope.bytes)
            case .journal(let delivery, let records):
                let journal = try BatchJournal(path: NodeCore.journalPath(delivery, home: home))
                if try journal.appendUnflushed(records) { unflushed.journals[journal.path] = journal }
            case .seen(let entries, let synced):
                // Written at the flush, after the spool's files: a request's id must never be
                // remembered while the request itself could still be lost (the spool, not the
                // seen-set, tells a copy of a stored request from a new one).
                unflushed.seen += entries
                unflushed.seenSynced = unflushed.seenSynced || synced
            case .audit(let line):
                try audit.record(allowed: line.allowed, fields: line.fields, reason: line.reason, synced: false)
                unflushed.audit = true
            case .outboxRemove(_, synced: false), .spool(_, .delivered):
                // Never synced on their own: a crash that loses them costs a duplicate.
                try apply(write)
            default:
                try flush(&unflushed)
                try apply(write)
            }
        }
        try flush(&unflushed)
    }

    /// Appends written and not yet flushed, and spool files not yet written.
    struct Unflushed {
        var journals: [String: BatchJournal] = [:]
        var seen: [(key: String, expires: Timestamp)] = []
        var seenSynced = false
        var audit = false
        /// Files for `spool/requests/`, in order (a later one of the same name replaces it).
        var files: [(bytes: [UInt8], name: String)] = []
        /// Empty `running` marks for `spool/requests/`.
        var markers: [String] = []

        mutating func spool(_ name: String, _ bytes: [UInt8]) {
            files.removeAll { $0.name == name }
            files.append((bytes, name))
        }
    }

    func flush(_ unflushed: inout Unflushed) throws {
        for path in unflushed.journals.keys.sorted() { try unflushed.journals[path]?.flush() }
        if unflushed.audit { try audit.flush() }
        if !unflushed.files.isEmpty || !unflushed.markers.isEmpty {
            let (files, markers) = (unflushed.files, unflushed.markers)
            try NodeMetrics.synced("spool") { try FileSystem.writeAtomically(files, markers: markers, in: requestsDirectory) }
        }
        if !unflushed.seen.isEmpty { try seenLog.record(unflushed.seen, synced: unflushed.seenSynced) }
        unflushed = Unflushed()
    }

    func apply(_ write: DurableWrite) throws {
        switch write {
        case .outboxAdd(let envelopes):
            let files = envelopes.map { (bytes: $0.bytes, name: $0.header.id + ".env") }
            try NodeMetrics.synced("outbox") { try FileSystem.writeAtomically(files, in: outboxDirectory) }
        case .outboxRemove(let id, let synced):
            try FileSystem.remove(Outbox.path(id, home: home), synced: synced)
        case .spool(let key, let change):
            let path = { (suffix: String) in RequestSpool.path(key, suffix, home: home) }
            switch change {
            case .store(let envelope): try NodeMetrics.synced("spool") { try FileSystem.writeAtomically(envelope.bytes, to: path("request")) }
            case .running: try NodeMetrics.synced("spool") { try FileSystem.createDurably(path("running")) }
            case .result(let envelope): try NodeMetrics.synced("spool") { try FileSystem.writeAtomically(envelope.bytes, to: path("result")) }
            case .delivered: try FileSystem.touch(path("delivered"))
            case .remove: try remove(RequestSpool.suffixes.map(path))
            }
        case .journal(let delivery, let records):
            try BatchJournal(path: NodeCore.journalPath(delivery, home: home)).append(records)
        case .seen(let entries, let synced):
            try seenLog.record(entries, synced: synced)
        case .seenRewrite(let entries):
            try seenLog.rewrite(entries)
        case .audit(let line):
            try audit.record(allowed: line.allowed, fields: line.fields, reason: line.reason)
        case .quarantine(let path, let reason):
            try quarantine(path, reason: reason, level: .warning)
        case .file(let path, let bytes, let mode):
            try FileSystem.writeAtomically(bytes, to: path, mode: .init(mode))
        case .makeDirectory(let path):
            try FileSystem.makeDirectory(path)
        case .remove(let paths):
            try remove(paths)
        }
    }

    /// Removes `paths` (missing ones are fine), then syncs each directory once.
    func remove(_ paths: [String]) throws {
        for path in paths { try FileSystem.remove(path, synced: false) }
        for directory in Set(paths.map(FileSystem.parent(of:))) { try FileSystem.syncDirectory(directory) }
    }
}
