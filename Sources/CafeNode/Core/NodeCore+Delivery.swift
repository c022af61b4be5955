import CafeCore
import CafeCrypto
import CafeWire
import Logging

/// What a ``BatchEngine`` of this node delivers: a batch it originated (one engine request per
/// batch request), or a request it fans out by its own delivery map (one engine request, 0).
/// The origin and the forwarding host share one step, one perform and one send; only how a
/// request body is built and what happens at the end differ.
enum Delivery: Hashable, Sendable, CustomStringConvertible {
    case batch(BatchID)
    case fanOut(RequestKey)

    var description: String {
        switch self {
        case .batch(let id): "batch \(id)"
        case .fanOut(let key): "the fan-out of \(key)"
        }
    }
}

extension NodeCore {
    func engine(of delivery: Delivery) -> BatchEngine? {
        switch delivery {
        case .batch(let id): batches[id]?.engine
        case .fanOut(let key): fanOuts[key]?.engine
        }
    }

    /// The origin, batch and position in the origin's batch of engine request `index`: how
    /// the outbox and the hosts know the request.
    /// A forwarding host asks its groups' checks in its own name (its hosts decide by their
    /// trust.yaml whether it may), as positions of the origin's batch id that cannot meet
    /// the origin's own: check `k` of the fan-out of request `index` is `index * 1024 + k`
    /// (`ForwardedCheck`).
    func slot(_ delivery: Delivery, _ index: Int) -> (origin: String, batch: String, position: Int) {
        switch delivery {
        case .batch(let id): (name, id.rawValue, index)
        case .fanOut(let key) where index > 0: (name, key.batch.rawValue, ForwardedCheck.position(of: key.index, check: index - 1))
        case .fanOut(let key): (key.origin, key.batch.rawValue, key.index)
        }
    }

    /// The delivery (and engine request) a request envelope in the outbox, or a result for one,
    /// belongs to: `origin`, `batch` and `position` as the envelope carries them.
    func delivery(origin: String, batch: BatchID, position: Int) -> (Delivery, Int)? {
        if origin == name {
            if batches[batch] != nil { return (.batch(batch), position) }
            let check = ForwardedCheck(position: position)
            let key = fanOuts.keys.first { $0.batch == batch && $0.index == check.request }
            return key.map { (.fanOut($0), 1 + check.check) }
        }
        let key = RequestKey(origin: origin, batch: batch, index: position)
        return fanOuts[key] != nil ? (.fanOut(key), 0) : nil
    }

    func delivery(of request: Envelope) -> (Delivery, Int)? {
        guard case .request(let body) = request.body, let batch = BatchID(validating: body.batch) else { return nil }
        return delivery(origin: request.header.origin, batch: batch, position: body.index)
    }

    // MARK: - Stepping

    /// One engine step: the engine takes the event, its records are journaled, then the
    /// actions are carried out (``perform(_:for:)``). The hosts the step starts are prepared
    /// after it, and the engine learns in a step of its own that they were handed out.
    mutating func step(_ delivery: Delivery, _ event: (inout BatchEngine) -> [BatchAction]) {
        // The engine is changed where it is kept: a copy taken out and put back would copy its
        // slots (every host's) on each step, which made a batch's steps grow with the square
        // of its hosts.
        let actions: [BatchAction]
        switch delivery {
        case .batch(let id):
            guard batches[id] != nil else { return }
            actions = event(&batches[id]!.engine)
        case .fanOut(let key):
            guard fanOuts[key] != nil else { return }
            actions = event(&fanOuts[key]!.engine)
        }
        perform(actions, for: delivery)
    }

    /// Journals first, then acts: sends, withdrawals, progress, the end.
    mutating func perform(_ actions: [BatchAction], for delivery: Delivery) {
        let records = actions.compactMap { action -> JournalRecord? in
            if case .record(let record) = action { return record }
            return nil
        }
        if !records.isEmpty { write(.journal(delivery, records)) }
        // The hosts a step starts are stored in the outbox together, then journaled as
        // dispatched in one step: a group of 50 costs one outbox write and one journal append.
        var sends: [(request: Int, host: String)] = []
        for action in actions {
            switch action {
            case .record:
                break
            case .send(let request, let host):
                sends.append((request, host))
            case .withdraw(let request, let host):
                let (origin, batch, position) = slot(delivery, request)
                if let entry = outbox.request(origin: origin, batch: batch, index: position, host: host) {
                    outbox.remove(entry.envelope.header.id)
                    write(.outboxRemove(id: entry.envelope.header.id, synced: true))
                }
            case .progress(let request, let host, let state, let note):
                progress(delivery, request: request, host: host, state: state, note: note)
            case .stage(let request, let note):
                let (_, batch, _) = slot(delivery, request)
                log(.info, "\(note)", ["batch": "\(batch)"])
                if case .batch(let id) = delivery, let engine = engine(of: delivery) {
                    emit(.notify(id, .stage(request: request, name: engine.plan.name(of: request), hosts: engine.plan.requests[request].groups.allHosts.count, note: note)))
                }
            case .finished:
                switch delivery {
                case .batch(let id): finishBatch(id)
                case .fanOut(let key): completeFanOut(key)
                }
            }
        }
        if !sends.isEmpty { send(delivery, sends) }
    }

    mutating func progress(_ delivery: Delivery, request: Int, host: String, state: HostState, note: String?) {
        let (_, batch, _) = slot(delivery, request)
        let requestName = engine(of: delivery)?.plan.name(of: request) ?? "?"
        log(
            .info, "\(host.isEmpty ? "request" : host): \(state.rawValue)\(note.map { " (\($0))" } ?? "")",
            ["batch": "\(batch)", "request": "\(requestName)", "peer": "\(host)"])
        if case .batch(let id) = delivery {
            emit(.notify(id, .progress(request: request, name: requestName, host: host, state: state, note: note)))
        }
    }

    // MARK: - Sending

    /// Builds the request envelopes for several (request, host) of one delivery (secrets sealed
    /// to each host), stores them in the outbox in one write, sends them, and then the engine
    /// learns in one step that they were handed out. A host whose request cannot be prepared
    /// fails, with the reason. A request with secrets for a key-less peer not seen yet waits
    /// for its first link (`introduced` is the second attempt, which does not wait).
    mutating func send(_ delivery: Delivery, _ items: [(request: Int, host: String)], introduced: Bool = false) {
        guard engine(of: delivery) != nil else { return }
        var stored: [(request: Int, host: String)] = []
        var prepared: [Envelope] = []
        var failures: [(request: Int, host: String, note: String)] = []
        for (index, host) in items {
            let (origin, batch, position) = slot(delivery, index)
            guard outbox.request(origin: origin, batch: batch, index: position, host: host) == nil else {
                stored.append((index, host))
                continue
            }
            do {
                guard let (body, expires) = try requestBody(delivery, request: index, for: host, introduced: introduced) else { continue }
                prepared.append(requestEnvelope(body, origin: origin, to: host, expires: expires))
                stored.append((index, host))
            } catch {
                log(.error, "cannot prepare the request for \(host): \(error)", ["batch": "\(batch)"])
                failures.append((index, host, "\(name) could not prepare the request: \(error)"))
            }
        }
        enqueue(prepared)
        step(delivery) { [now] engine in
            failures.flatMap { engine.failed(request: $0.request, host: $0.host, note: $0.note, now: now) }
                + stored.flatMap { engine.dispatched(request: $0.request, host: $0.host) }
        }
        flushDue()
    }

    /// The body of engine request `index` for `host` and when it expires; nil when it waits
    /// for `host`'s key. The origin seals its own saved secrets again for the host; a
    /// forwarding host seals again the secrets sealed to it, and adds the request it received
    /// as proof that the origin asked.
    mutating func requestBody(_ delivery: Delivery, request index: Int, for host: String, introduced: Bool) throws -> (RequestBody, Timestamp)? {
        guard let engine = engine(of: delivery) else { return nil }
        let (origin, batch, position) = slot(delivery, index)
        let answerBy = engine.deadline(request: index, host: host)
        if index >= engine.plan.requests.count {
            // A group's health check: the request by name alone; each host runs its own entry.
            // A forwarding host asks it in its own name (see `slot`), with nothing of the origin's.
            var batchName = ""
            switch delivery {
            case .batch(let id): batchName = batches[id]?.batch.name ?? ""
            case .fanOut:
                guard index - 1 < ForwardedCheck.maxChecks else {
                    throw EnvironmentError("more than \(ForwardedCheck.maxChecks) checks in one entry of \(home.deliveryConfig)")
                }
            }
            return (RequestBody(batch: batch, batchName: batchName, index: position, request: engine.plan.name(of: index), answerBy: answerBy), engine.plan.expires)
        }
        switch delivery {
        case .batch(let id):
            guard let request = batches[id]?.batch.requests[index] else { return nil }
            if mustAwaitKey(of: host, secrets: !request.data.secrets.isEmpty, introduced: introduced, AwaitingKey(delivery: delivery, request: index)) {
                return nil
            }
            let secrets = try request.data.secrets.map { secret -> (key: String, sealed: String) in
                guard case .sealed(let own) = secret.value else { throw EnvironmentError("secret '\(secret.key)' is not sealed") }
                let clear = try SecretSealer.open(
                    own, with: identity.key, binding: SecretSealer.originalBinding(batch: batch, index: position, origin: origin, key: secret.key))
                return (secret.key, try seal(clear, for: host, origin: origin, batch: batch, index: position, request: request.name, key: secret.key))
            }
            let body = RequestBody(
                batch: batch, batchName: batches[id]?.batch.name ?? "", index: position, request: request.name,
                data: request.data.fields, secrets: secrets, commands: request.commands.map(\.spec), answerBy: answerBy,
                only: request.only?[host], planDigest: request.planned?[host])
            return (body, engine.plan.expires)
        case .fanOut(let key):
            guard let fan = fanOuts[key], case .request(let body) = fan.request.body else { return nil }
            if mustAwaitKey(of: host, secrets: !body.secrets.isEmpty, introduced: introduced, AwaitingKey(delivery: delivery, request: index)) {
                return nil
            }
            let secrets = try body.secrets.map { secret -> (key: String, sealed: String) in
                let clear = try SecretSealer.open(
                    secret.sealed, with: identity.key,
                    binding: SecretSealer.requestBinding(origin: origin, batch: batch, index: position, request: body.request, recipient: name, key: secret.key))
                return (secret.key, try seal(clear, for: host, origin: origin, batch: batch, index: position, request: body.request, key: secret.key))
            }
            let delegated = RequestBody(
                batch: batch, batchName: body.batchName, index: position, request: body.request, data: body.data,
                secrets: secrets, answerBy: answerBy, delegation: fan.request.text, only: Self.paths(below: host, in: body.only))
            return (delegated, fan.request.header.expires)
        }
    }

    // MARK: - Answers

    /// A host's signed result for engine request `index` of `delivery`: stepped (journaled),
    /// remembered as seen, and acknowledged (a copy that changes nothing as a duplicate).
    mutating func record(_ envelope: Envelope, _ body: ResultBody, in delivery: Delivery, request index: Int) {
        var changed = false
        step(delivery) { [now] engine in
            let actions = engine.received(request: index, host: envelope.header.sender, result: body.result, signed: envelope.text, now: now)
            changed = !actions.isEmpty
            return actions
        }
        remember(envelope.header, synced: false)
        acknowledge(envelope.header, changed ? .accepted : .duplicate)
    }

    /// A host acknowledged (or refused) a request of `delivery`: the engine learns which.
    mutating func requestAcknowledged(_ entry: Outbox.Entry, _ body: AckBody) {
        guard let (delivery, index) = delivery(of: entry.envelope) else { return }
        if body.status == .refused {
            log(.warning, "\(entry.target) refused the request: \(body.reason ?? "no reason given")", ["batch": "\(slot(delivery, index).batch)"])
            step(delivery) { [now] in $0.refused(request: index, host: entry.target, code: body.code, reason: body.reason ?? "refused", now: now) }
        } else {
            step(delivery) { $0.acknowledged(request: index, host: entry.target) }
        }
    }
}

/// Where a forwarding host's check travels: position `request * 1024 + check` of the origin's
/// batch id, in the forwarding host's name.
struct ForwardedCheck {
    static let maxChecks = 1024
    var request: Int
    var check: Int

    init(position: Int) {
        request = position / Self.maxChecks
        check = position % Self.maxChecks
    }

    static func position(of request: Int, check: Int) -> Int { request * maxChecks + check }
}

/// A request with secrets that waits for its host's key before they can be sealed to it.
struct AwaitingKey: Sendable {
    var delivery: Delivery
    var request: Int
}
