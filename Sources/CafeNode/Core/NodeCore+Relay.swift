import CafeCore
import CafeCrypto
import CafeWire
import Logging

extension NodeCore {
    /// One hop of a relayed envelope. The hop that sent it signed it; the envelope inside is
    /// verified end to end before anything is done with it. For this node it is handled as if it
    /// had come directly; for another node it is passed on by this node's route, if the author's
    /// origin may relay through here (trust.yaml `relay: true`), the path has no loop and is not
    /// too long. A relay cannot read sealed secrets and cannot change anything unnoticed: it only
    /// moves the signed bytes.
    mutating func receiveForward(_ envelope: Envelope, _ body: ForwardBody, _ opened: Result<Envelope, any Error>, _ verdict: ReplayWindow.Verdict) {
        var meta: Logger.Metadata = ["peer": "\(envelope.header.sender)"]
        if case .refuse(let refusal) = verdict {
            // Forwards are not kept in the durable seen-set: what they carry is idempotent.
            log(.warning, "refused forwarded envelope: \(refusal)", meta)
            return
        }
        replay.remember(envelope.header)
        guard body.path.last == envelope.header.sender else {
            log(.warning, "refused forwarded envelope: its path does not end with its sender", meta)
            return
        }
        guard !body.path.contains(name) else {
            log(.warning, "refused forwarded envelope: loop, it already passed \(name) (path \(body.path.joined(separator: " → ")))", meta)
            return
        }
        let inner: Envelope
        do {
            inner = try opened.get()
        } catch {
            log(.warning, "refused forwarded envelope: \(error)", meta)
            emit(.metric(.refused((error as? EnvelopeError)?.reason.rawValue ?? "malformed")))
            return
        }
        meta["origin"] = "\(inner.header.origin)"
        guard inner.header.sender == body.path.first, inner.header.kind != .forward else {
            log(.warning, "refused forwarded envelope: its author is not the first node of its path", meta)
            return
        }
        if inner.header.target == name {
            receive(OpenedEnvelope(envelope: inner), from: envelope.header.sender)
            return
        }
        guard body.path.count < ForwardBody.maxPath else {
            log(.warning, "refused forwarded envelope: it passed \(body.path.count) nodes, the limit is \(ForwardBody.maxPath)", meta)
            return
        }
        let decision = auditedDecision(
            signer: inner.header.origin, tags: inner.header.sender == inner.header.origin ? inner.signer?.tags ?? [] : [], action: .relay,
            fields: [("action", "relay"), ("kind", inner.header.kind.rawValue), ("to", inner.header.target), ("from", envelope.header.sender)])
        guard decision.allowed else {
            log(.warning, "not relaying for \(inner.header.origin): \(decision.reason)", meta)
            return
        }
        guard identity.configuration.node.peers[inner.header.target] != nil else {
            log(.warning, "cannot relay to \(inner.header.target): no route to it in node.yaml", meta)
            return
        }
        let path = body.path + [name]
        deliver(inner, to: inner.header.target, .relay(inner, path: path), path: path)
    }

    /// Envelopes a relay could not pass on at once wait in memory (not on disk: their author
    /// keeps them in its outbox and sends them again) until the next hop is reachable, at most
    /// ``relayHoldSeconds`` and ``relayHoldLimit`` of them.
    mutating func holdForRelay(_ envelope: Envelope, path: [String]) {
        let hop = firstHop(to: envelope.header.target)
        log(.info, "holding an envelope for \(envelope.header.target) until the link to it is up", ["origin": "\(envelope.header.origin)"])
        relayHold[hop, default: []].append(HeldEnvelope(envelope: envelope, path: path, since: now))
        let total = relayHold.values.reduce(0) { $0 + $1.count }
        if total > Self.relayHoldLimit, let fullest = relayHold.max(by: { $0.value.count < $1.value.count })?.key {
            relayHold[fullest]?.removeFirst()
        }
    }

    /// Passes on what was held for `hop`, now that it is reachable; drops what waited too long.
    mutating func releaseHeld(for hop: String?) {
        for (key, held) in relayHold.sorted(by: { $0.key < $1.key }) {
            let fresh = held.filter { now.seconds(since: $0.since) < Self.relayHoldSeconds }
            guard key == hop else {
                relayHold[key] = fresh.isEmpty ? nil : fresh
                continue
            }
            relayHold[key] = nil
            for item in fresh {
                deliver(item.envelope, to: item.envelope.header.target, .relay(item.envelope, path: item.path), path: item.path)
            }
        }
    }

    static let relayHoldSeconds: Double = 60
    static let relayHoldLimit = 4096
}

/// An envelope a relay holds until its next hop is reachable.
struct HeldEnvelope: Sendable {
    var envelope: Envelope
    var path: [String]
    var since: Timestamp
}

/// A verified envelope and, for a forward, the verified envelope it carries (or why that one
/// did not verify): everything costly about an input, done before the node's actor sees it.
struct OpenedEnvelope: Sendable {
    var envelope: Envelope
    var inner: Result<Envelope, any Error>?

    init(envelope: Envelope, inner: Result<Envelope, any Error>? = nil) {
        self.envelope = envelope
        self.inner = inner
    }

    /// Opens the envelope a forward carries, if `envelope` is one.
    init(_ envelope: Envelope, keys: KeyRing) {
        self.envelope = envelope
        if case .forward(let body) = envelope.body { inner = Self.openInner(body, of: envelope, keys: keys) }
    }

    static func openInner(_ body: ForwardBody, of envelope: Envelope, keys: KeyRing) -> Result<Envelope, any Error> {
        Result { try Envelope.open(Array(body.envelope.utf8), keys: keys, source: "envelope relayed by \(envelope.header.sender)") }
    }
}
