import CSodium

/// One direction of a sealed link: libsodium's `crypto_secretstream_xchacha20poly1305`.
/// Every frame is encrypted and authenticated in order (a dropped, repeated, reordered or
/// altered frame fails to open), and the key is replaced by a rekey message, which both ends
/// apply at the same point of the stream.
public final class SecretStreamSender: @unchecked Sendable {
    public static let headerBytes = Int(crypto_secretstream_xchacha20poly1305_HEADERBYTES)
    public static let overhead = Int(crypto_secretstream_xchacha20poly1305_ABYTES)

    private var state = crypto_secretstream_xchacha20poly1305_state()
    /// Sent first, in the clear; the receiver needs it to start.
    public let header: [UInt8]

    public init(key: SessionKey) {
        Sodium.ensureReady()
        var header = [UInt8](repeating: 0, count: Self.headerBytes)
        crypto_secretstream_xchacha20poly1305_init_push(&state, &header, key.pointer)
        self.header = header
    }

    deinit { withUnsafeMutableBytes(of: &state) { sodium_memzero($0.baseAddress, $0.count) } }

    /// `message` sealed as the next frame; with `rekey`, both ends switch to a new key after it.
    public func seal(_ message: [UInt8], rekey: Bool = false) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: message.count + Self.overhead)
        let tag = UInt8(rekey ? crypto_secretstream_xchacha20poly1305_TAG_REKEY : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
        crypto_secretstream_xchacha20poly1305_push(&state, &out, nil, message, UInt64(message.count), nil, 0, tag)
        return out
    }
}

/// The receiving end of a ``SecretStreamSender``.
public final class SecretStreamReceiver: @unchecked Sendable {
    private var state = crypto_secretstream_xchacha20poly1305_state()

    /// Nil when `header` is not a stream header.
    public init?(key: SessionKey, header: [UInt8]) {
        Sodium.ensureReady()
        guard header.count == SecretStreamSender.headerBytes,
            crypto_secretstream_xchacha20poly1305_init_pull(&state, header, key.pointer) == 0
        else { return nil }
    }

    deinit { withUnsafeMutableBytes(of: &state) { sodium_memzero($0.baseAddress, $0.count) } }

    /// The next frame's message, or nil when the frame was not the next one sealed by the
    /// sender (altered, replayed, reordered, or from another stream). After nil the stream is
    /// unusable: the link must be closed.
    public func open(_ frame: [UInt8]) -> [UInt8]? {
        guard frame.count >= SecretStreamSender.overhead else { return nil }
        var out = [UInt8](repeating: 0, count: frame.count - SecretStreamSender.overhead)
        var tag: UInt8 = 0
        let status = crypto_secretstream_xchacha20poly1305_pull(&state, &out, nil, &tag, frame, UInt64(frame.count), nil, 0)
        guard status == 0, tag != UInt8(crypto_secretstream_xchacha20poly1305_TAG_FINAL) else { return nil }
        return out
    }
}
