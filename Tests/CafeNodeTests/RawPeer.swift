import CafeCore
import CafeCrypto
import CafeWire
import Glibc

/// A hand-driven TCP peer for tests: raw bytes, frames, and signed envelopes, with timeouts.
final class RawPeer {
    let fd: Int32
    private var buffer: [UInt8] = []
    /// The sealed link, after ``handshake(as:key:with:keys:)``.
    private var link: (sealer: LinkSealer, opener: SecretStreamReceiver)?
    /// Messages 1, 2 and 3 of the last handshake, as they crossed the wire.
    private(set) var transcript: [[UInt8]] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw EnvironmentError("cannot connect to port \(port)") }
    }

    /// The first connection a node makes to `port` on 127.0.0.1 within `timeout` seconds: the
    /// test plays a peer that a node dials.
    init(acceptingOn port: Int, timeout: Double = 20) throws {
        let listener = try TapProxy.listening(on: port)
        defer { close(listener) }
        var entry = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, Int32(timeout * 1000)) > 0 else { throw EnvironmentError("no connection to port \(port) within \(timeout) s") }
        fd = accept(listener, nil, nil)
        guard fd >= 0 else { throw EnvironmentError("accept failed on port \(port)") }
    }

    deinit { close(fd) }

    func sendRaw(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Sends one frame: sealed once a handshake has set up the link, as given before.
    func sendFrame(_ bytes: [UInt8]) {
        sendRawFrame(link.map { $0.sealer.seal(bytes) } ?? bytes)
    }

    /// Sends `bytes` as one frame exactly as given (handshake messages, or bytes to hostile ends).
    func sendRawFrame(_ bytes: [UInt8]) {
        sendRaw(withUnsafeBytes(of: UInt32(bytes.count).bigEndian, Array.init) + bytes)
    }

    /// The next frame (opened, once the link is sealed), or nil if the connection closed, the
    /// frame did not open, or nothing came within `timeout`.
    func readFrame(timeout: Double = 10) -> [UInt8]? {
        guard let frame = readRawFrame(timeout: timeout) else { return nil }
        guard let link else { return frame }
        return link.opener.open(frame)
    }

    func readRawFrame(timeout: Double = 10) -> [UInt8]? {
        let deadline = Monotonic.seconds() + timeout
        while true {
            if buffer.count >= 4 {
                let length = buffer[0..<4].reduce(0) { $0 << 8 | Int($1) }
                if buffer.count >= 4 + length {
                    let frame = Array(buffer[4..<(4 + length)])
                    buffer.removeFirst(4 + length)
                    return frame
                }
            }
            guard readMore(until: deadline) else { return nil }
        }
    }

    /// True when the other side closes the connection within `timeout`.
    func closedByPeer(within timeout: Double) -> Bool {
        let deadline = Monotonic.seconds() + timeout
        while Monotonic.seconds() < deadline {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 50) >= 0 else { return true }
            if entry.revents != 0 {
                var chunk = [UInt8](repeating: 0, count: 4096)
                if read(fd, &chunk, chunk.count) <= 0 { return true }
            }
        }
        return false
    }

    private func readMore(until deadline: Double) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let wait = Int32(max(0, (deadline - Monotonic.seconds()) * 1000))
        guard poll(&entry, 1, wait) > 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = read(fd, &chunk, chunk.count)
        guard count > 0 else { return false }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }

    /// Opens a sealed link to `peer` as `name` (the initiator's side of ``LinkHandshake``),
    /// keeping the three handshake messages this side sent and received in ``transcript``.
    /// Returns the name the peer proved, or nil when the handshake failed.
    @discardableResult
    func handshake(
        as name: String, key: SigningKey, credentials: Credentials = Credentials(), with peer: String, keys: KeyRing,
        timeout: Double = 10
    ) -> String? {
        guard let initiator = try? LinkInitiator(name: name, key: key, credentials: credentials, peer: peer, keys: keys, now: SystemClock().now())
        else { return nil }
        sendRawFrame(initiator.first)
        // Bound in two steps: `let (third, secrets) = try? …` in the guard crashed this test
        // process under Swift 6.1 debug builds once LinkSecrets grew (its keys were read from
        // freed memory), 3 runs in 3.
        guard let second = readRawFrame(timeout: timeout), let finished = try? initiator.finish(second) else { return nil }
        let (third, secrets) = finished
        sendRawFrame(third)
        transcript = [initiator.first, second, third]
        let sealer = LinkSealer(key: secrets.sendKey, now: { Monotonic.seconds() })
        sendRawFrame(sealer.header)
        guard let header = readRawFrame(timeout: timeout), let opener = SecretStreamReceiver(key: secrets.receiveKey, header: header) else { return nil }
        link = (sealer, opener)
        return secrets.peer.name
    }

    /// Answers a node's handshake as `name` (the accepting side); returns the caller's name.
    @discardableResult
    func answerHandshake(as name: String, key: SigningKey, keys: KeyRing) -> String? {
        guard let first = readRawFrame(), let answered = try? LinkResponder(name: name, key: key, keys: keys, now: SystemClock().now()).answer(first) else { return nil }
        sendRawFrame(answered.second)
        guard let third = readRawFrame(), let secrets = try? answered.finish(third) else { return nil }
        let sealer = LinkSealer(key: secrets.sendKey, now: { Monotonic.seconds() })
        sendRawFrame(sealer.header)
        guard let header = readRawFrame(), let opener = SecretStreamReceiver(key: secrets.receiveKey, header: header) else { return nil }
        link = (sealer, opener)
        return secrets.peer.name
    }
}

/// An envelope signed by `sender` with `key`, made now with a fresh id: what a hand-driven peer
/// sends. `origin` defaults to the sender.
func signedEnvelope(
    _ body: EnvelopeBody, from sender: String, origin: String? = nil, to target: String, expiresIn: Double = 600, key: SigningKey
) -> Envelope {
    let now = SystemClock().now()
    return Envelope.seal(
        header: EnvelopeHeader(
            kind: body.kind, id: EnvelopeID.make(time: now, random: SystemRandom()), origin: origin ?? sender, sender: sender,
            target: target, created: now, expires: now.adding(seconds: expiresIn)),
        body: body, key: key)
}

/// The next envelope of `kind` on `peer`'s link, acknowledging nothing.
func next(_ kind: EnvelopeKind, on peer: RawPeer, keys: KeyRing, timeout: Double = 10) -> Envelope? {
    let deadline = Monotonic.seconds() + timeout
    while Monotonic.seconds() < deadline, let frame = peer.readFrame(timeout: max(0.1, deadline - Monotonic.seconds())) {
        if let envelope = try? Envelope.open(frame, keys: keys), envelope.header.kind == kind { return envelope }
    }
    return nil
}
