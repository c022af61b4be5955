import CafeCore
import CafeCrypto
import CafeWire

/// Who asked for a request, as its signed delegation chain proves: the nodes it passed, origin
/// first; the tags of the origin's fleet certificate; and the latest expiry along the chain
/// (until then a copy of the request could still arrive, so its spool entry stays).
struct Delegation: Sendable, Equatable {
    var chain: [String]
    var originTags: [String]
    var latestExpiry: Timestamp
}

/// Identifies one request a host was asked to run: which origin, which batch, which position.
/// A host runs each key at most once, whatever envelopes carry it.
struct RequestKey: Sendable, Hashable, CustomStringConvertible {
    var origin: String
    var batch: BatchID
    var index: Int

    /// `ORIGIN.BATCH.INDEX`, built only from validated parts, so it is safe as a file name and a field of `spool/node.log`.
    var stem: String { "\(origin).\(batch.rawValue).\(index)" }
    var description: String { "\(batch.rawValue)[\(index)] from \(origin)" }
}

/// The host side's request queue as the core knows it: a pure value. Its durable half is in
/// `spool/node.log` (written by the shell, ``DurableWrite/spool(_:_:)``), per request:
///
/// - `request` — the verified request envelope, stored before it is acknowledged;
/// - `running` — written before the first command starts (so a crash never leads to a second
///   run: after a restart the request is reported as interrupted instead);
/// - `result` — the signed result, stored before it is sent home;
/// - `delivered` — the asker acknowledged the result.
///
/// Entries are kept until their request expires, so a duplicate is answered with the stored
/// result instead of running again.
struct RequestSpool: Sendable {
    enum Stage: Sendable, Equatable {
        case stored
        case running
        case finished(Envelope)
    }

    struct Entry: Sendable {
        var request: Envelope
        var stage: Stage
        /// The request's delegation, checked once (nil until then for an entry loaded from disk).
        var delegation: Delegation?
    }

    private(set) var entries: [RequestKey: Entry] = [:]
    /// Entries whose result the asker acknowledged.
    private(set) var delivered: Set<RequestKey> = []

    static func key(_ envelope: Envelope) -> RequestKey? {
        guard case .request(let body) = envelope.body, let batch = BatchID(validating: body.batch) else { return nil }
        return RequestKey(origin: envelope.header.origin, batch: batch, index: body.index)
    }

    /// An entry as the disk holds it (at start).
    mutating func load(_ key: RequestKey, _ entry: Entry, delivered isDelivered: Bool) {
        entries[key] = entry
        if isDelivered { delivered.insert(key) }
    }

    mutating func store(_ envelope: Envelope, key: RequestKey, delegation: Delegation?) {
        entries[key] = Entry(request: envelope, stage: .stored, delegation: delegation)
    }

    mutating func setDelegation(_ delegation: Delegation, for key: RequestKey) {
        entries[key]?.delegation = delegation
    }

    mutating func markRunning(_ key: RequestKey) {
        entries[key]?.stage = .running
    }

    /// Records that the result of `key` was acknowledged; false when there was nothing to change.
    mutating func markDelivered(_ key: RequestKey) -> Bool {
        guard entries[key] != nil else { return false }
        return delivered.insert(key).inserted
    }

    mutating func storeResult(_ result: Envelope, key: RequestKey) {
        entries[key]?.stage = .finished(result)
    }

    mutating func remove(_ key: RequestKey) {
        entries[key] = nil
        delivered.remove(key)
    }
}
