import CafeCore
import CafeCrypto
import CafeWire
import Logging

/// The node's home as its shell reads and writes it for ``NodeCore``: at start, everything the
/// core resumes from (``load(keys:seen:)``); while running, the ``DurableWrite``s of each step,
/// in order (``apply(_:)``). The outbox, the request spool and the audit lines live in one
/// log, ``NodeLog`` (`spool/node.log`), made durable with one sync per group of steps. What
/// does not verify or parse when loaded goes to quarantine, with the reason, never silently
/// dropped.
struct NodeDisk: Sendable {
    let home: NodeHome
    let quarantine: Quarantine
    let seenLog: SeenLog
    let audit: AuditLog
    let log: NodeLog
    let logger: Logger
    /// Called before each write to disk: a crash test stops the process there
    /// (``CrashPoints``).
    let crashPoint: CrashPoints

    /// Opens the home's stores (creating what is missing) and replays `spool/node.log`; `seen`
    /// is the durable seen-set.
    static func open(home: NodeHome, clock: any WallClock, logger: Logger, crashPoint: CrashPoints = .none) throws -> (NodeDisk, seen: [String: Timestamp]) {
        try home.createLayout()
        let (seenLog, seen) = try SeenLog.open(home.spool + "/seen.log", now: clock.now())
        let quarantine = Quarantine(directory: home.spool + "/quarantine")
        let (state, problems) = try NodeLog.read(home.spool + "/node.log", quarantine: quarantine)
        for problem in problems { logger.error("\(problem)") }
        let disk = NodeDisk(
            home: home, quarantine: quarantine, seenLog: seenLog, audit: AuditLog(path: home.auditLog, clock: clock),
            log: try NodeLog(path: home.spool + "/node.log", state: state), logger: logger, crashPoint: crashPoint)
        return (disk, seen)
    }

    var fanOutDirectory: String { home.spool + "/fanout" }

    // MARK: - Loading

    /// Everything a previous run left: the outbox, the request spool, batches queued and
    /// running (with their journals), and fan-outs under way. The log is compacted to what is
    /// live, and audit lines a crash kept from `log/audit.log` are written there.
    func load(keys: KeyRing, seen: [String: Timestamp]) throws -> LoadedDisk {
        let legacy = try LegacySpool(home: home)
        legacy.migrate(into: &log.state)
        var disk = LoadedDisk(outbox: try loadOutbox(keys: keys), spool: try loadSpool(keys: keys), seen: seen)
        log.state.apply(.auditMark(try audit.restore(log.state.audit, after: log.state.auditMark)))
        try log.rewrite()
        try legacy.remove()
        disk.batches = try loadBatches(keys: keys)
        disk.fanOuts = try loadFanOuts(keys: keys, spool: disk.spool)
        return disk
    }

    /// Moves `path` to quarantine and logs why.
    func quarantine(_ path: String, reason: String, level: Logger.Level = .error) throws {
        let line = try quarantine.take(path, reason: reason)
        logger.log(level: level, "\(line)")
    }

    /// Keeps `bytes` in quarantine as `name` and logs why.
    func quarantine(_ bytes: [UInt8], name: String, reason: String, level: Logger.Level = .error) throws {
        let line = try quarantine.keep(bytes, name: name, reason: reason)
        logger.log(level: level, "\(line)")
    }

    func loadOutbox(keys: KeyRing) throws -> Outbox {
        var outbox = Outbox()
        for (id, bytes) in log.state.outbox.sorted(by: { $0.key < $1.key }) {
            let source = "\(log.path) (outbox entry \(id))"
            do {
                let envelope = try Envelope.open(bytes, keys: keys, source: source)
                guard envelope.header.id == id else { throw InputError(source: source, message: "holds envelope \(envelope.header.id), not \(id)") }
                outbox.add(envelope, durable: true)
            } catch {
                try quarantine(bytes, name: id + ".env", reason: "\(error)")
                log.state.apply(.outboxRemoved(id: id))
            }
        }
        return outbox
    }

    func loadSpool(keys: KeyRing) throws -> RequestSpool {
        var spool = RequestSpool()
        for (stem, stored) in log.state.requests.sorted(by: { $0.key < $1.key }) {
            let source = "\(log.path) (request \(stem))"
            do {
                let envelope = try Envelope.open(stored.envelope, keys: keys, source: source)
                guard let key = RequestSpool.key(envelope), key.stem == stem else { throw InputError(source: source, message: "not the request \(stem)") }
                var entry = RequestSpool.Entry(request: envelope, stage: stored.running ? .running : .stored)
                if let result = stored.result {
                    do {
                        entry.stage = .finished(try Envelope.open(result, keys: keys, source: "\(log.path) (result of \(stem))"))
                    } catch {
                        try quarantine(result, name: stem + ".result", reason: "\(error)")
                        log.state.forgetResult(stem)
                    }
                }
                spool.load(key, entry, delivered: stored.delivered)
            } catch {
                try quarantine(stored.envelope, name: stem + ".request", reason: "\(error)")
                log.state.apply(.requestRemoved(stem: stem))
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
    /// Group commit: outbox and spool records and audit lines go to `spool/node.log`, journal
    /// records to their journals, seen ids to the seen-set, all written at once and made durable
    /// together (one sync of the log, one of each journal), before the next write of another
    /// kind and at the end: fifty requests stored and started, or fifty envelopes queued for
    /// fifty hosts, cost one `fdatasync`. All of it is durable before the shell acts on any.
    /// A crash in between keeps a prefix of the order given, at the grain of files: journal
    /// records written before the log's are flushed before it (a batch's `started` before its
    /// requests wait in the outbox), those written after are appended after it (their `sent`
    /// after them), and the seen ids come last (a request's id is never remembered while the
    /// request itself could still be lost); the audit lines are copied to `log/audit.log` after
    /// the log holds them (``AuditLog/restore(_:after:)`` completes a copy a crash cut short).
    func apply(_ writes: [DurableWrite]) throws {
        var unflushed = Unflushed()
        for write in writes {
            switch write {
            case .outboxAdd(let envelopes):
                log.append(envelopes.map { .outbox(id: $0.header.id, envelope: $0.bytes) })
            case .outboxRemove(let id, let synced):
                log.append([.outboxRemoved(id: id)], synced: synced)
            case .spool(let key, .store(let envelope)):
                log.append([.request(stem: key.stem, envelope: envelope.bytes)])
            case .spool(let key, .running):
                log.append([.running(stem: key.stem)])
            case .spool(let key, .result(let envelope)):
                log.append([.result(stem: key.stem, envelope: envelope.bytes)])
            case .spool(let key, .delivered):
                // Not synced on its own: a crash that loses it costs a duplicate.
                log.append([.delivered(stem: key.stem)], synced: false)
            case .spool(let key, .remove):
                // Not synced on its own: an entry a crash brings back expires again.
                log.append([.requestRemoved(stem: key.stem)], synced: false)
            case .outboxQuarantine(let envelope, let reason):
                try quarantine(envelope.bytes, name: envelope.header.id + ".env", reason: reason, level: .warning)
                log.append([.outboxRemoved(id: envelope.header.id)])
            case .journal(let delivery, let records):
                let journal = try BatchJournal(path: NodeCore.journalPath(delivery, home: home))
                if log.hasPending || unflushed.afterLog.contains(where: { $0.journal.path == journal.path }) {
                    // Not durable before the log records written ahead of them (a request's
                    // `sent` never before its outbox entry).
                    unflushed.afterLog.append((journal, records))
                } else {
                    crashPoint.reached()
                    if try journal.appendUnflushed(records) { unflushed.journals[journal.path] = journal }
                }
            case .seen(let entries, let synced):
                unflushed.seen += entries
                unflushed.seenSynced = unflushed.seenSynced || synced
            case .audit(let line):
                let text = audit.line(allowed: line.allowed, fields: line.fields, reason: line.reason)
                log.append([.audit(text)])
                unflushed.audit.append(text)
            case .seenRewrite(let entries):
                try alone(&unflushed) { try seenLog.rewrite(entries) }
            case .quarantine(let path, let reason):
                try alone(&unflushed) { try quarantine(path, reason: reason, level: .warning) }
            case .file(let path, let bytes, let mode):
                try alone(&unflushed) { try FileSystem.writeAtomically(bytes, to: path, mode: .init(mode)) }
            case .makeDirectory(let path):
                try alone(&unflushed) { try FileSystem.makeDirectory(path) }
            case .remove(let paths):
                try alone(&unflushed) { try remove(paths) }
            }
        }
        try flush(&unflushed)
    }

    /// A write that is not grouped: what came before it is made durable first.
    private func alone(_ unflushed: inout Unflushed, _ write: () throws -> Void) throws {
        try flush(&unflushed)
        crashPoint.reached()
        try write()
    }

    /// What a group wrote and has not yet made durable, besides the log's own buffer.
    struct Unflushed {
        /// Journals appended to ahead of the log's pending records, to flush before it.
        var journals: [String: BatchJournal] = [:]
        /// Journal records that came after some of the log's pending records, to append once
        /// the log is durable.
        var afterLog: [(journal: BatchJournal, records: [JournalRecord])] = []
        var seen: [(key: String, expires: Timestamp)] = []
        var seenSynced = false
        var audit: [String] = []
    }

    func flush(_ unflushed: inout Unflushed) throws {
        try flushJournals(unflushed.journals)
        if log.hasPending {
            crashPoint.reached()
            let started = Monotonic.seconds()
            if try log.commit() { NodeMetrics.recordSync("log", seconds: Monotonic.seconds() - started) }
        }
        var journals: [String: BatchJournal] = [:]
        for (journal, records) in unflushed.afterLog {
            crashPoint.reached()
            if try journal.appendUnflushed(records) { journals[journal.path] = journal }
        }
        try flushJournals(journals)
        if !unflushed.audit.isEmpty {
            crashPoint.reached()
            try audit.append(unflushed.audit, synced: false)
        }
        if !unflushed.seen.isEmpty {
            crashPoint.reached()
            if unflushed.seenSynced {
                try NodeMetrics.synced("seen") { try seenLog.record(unflushed.seen, synced: true) }
            } else {
                try seenLog.record(unflushed.seen, synced: false)
            }
        }
        try log.compactIfNeeded { try audit.flush() }
        unflushed = Unflushed()
    }

    private func flushJournals(_ journals: [String: BatchJournal]) throws {
        for path in journals.keys.sorted() {
            crashPoint.reached()
            try journals[path]?.flush()
        }
    }

    /// Removes `paths` (missing ones are fine), then syncs each directory once.
    func remove(_ paths: [String]) throws {
        for path in paths { try FileSystem.remove(path, synced: false) }
        for directory in Set(paths.map(FileSystem.parent(of:))) { try FileSystem.syncDirectory(directory) }
    }
}
