/// What a command wrote to stdout or stderr, up to the capture cap, and how much was dropped.
public struct CapturedOutput: Sendable, Hashable {
    /// The first bytes written, at most the cap.
    public var bytes: [UInt8]
    /// Bytes written beyond the cap, counted but not kept.
    public var droppedBytes: Int

    public init(bytes: [UInt8] = [], droppedBytes: Int = 0) {
        self.bytes = bytes
        self.droppedBytes = droppedBytes
    }

    /// True when the output was longer than the cap.
    public var isTruncated: Bool { droppedBytes > 0 }

    /// The output as text, when it is valid UTF-8.
    public var text: String? { String(validating: bytes, as: UTF8.self) }

    /// The output as text, with invalid bytes replaced; for display only.
    public var displayText: String { String(decoding: bytes, as: UTF8.self) }
}
