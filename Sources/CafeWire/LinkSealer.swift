import CafeCrypto

/// The sending half of a sealed link: every frame after the handshake goes through
/// ``seal(_:)``. The key is replaced (a secretstream rekey, which the receiver applies at the
/// same frame) after ``maxBytes`` bytes or ``maxSeconds`` seconds, whichever comes first, so
/// that a long-lived link never uses one key for long.
public final class LinkSealer: @unchecked Sendable {
    public static let maxBytes = 64 << 20
    public static let maxSeconds = 600.0

    private let stream: SecretStreamSender
    private let now: @Sendable () -> Double
    private var bytes = 0
    private var since: Double
    /// How many times the key was replaced.
    public private(set) var rekeys = 0

    /// `now` gives seconds on a monotonic clock (injected for tests).
    public init(key: SessionKey, now: @escaping @Sendable () -> Double) {
        stream = SecretStreamSender(key: key)
        self.now = now
        since = now()
    }

    /// The stream header: the first frame after the handshake, in the clear (it is a nonce).
    public var header: [UInt8] { stream.header }

    /// `frame` sealed as the next frame of the link.
    public func seal(_ frame: [UInt8]) -> [UInt8] {
        bytes += frame.count
        let time = now()
        let rekey = bytes >= Self.maxBytes || time - since >= Self.maxSeconds
        if rekey {
            bytes = 0
            since = time
            rekeys += 1
        }
        return stream.seal(frame, rekey: rekey)
    }
}
