import NIOCore

/// Splits a TCP byte stream into frames: a 4-byte big-endian length, then that many bytes
/// (one sealed envelope, or a handshake message). A length of zero or over the limit is an
/// error that closes the connection before any of the frame is buffered. The first
/// ``firstFrames`` frames (the handshake, before the peer is authenticated) have a much smaller
/// limit, ``firstFrameMaxBytes``, so that an unknown peer cannot make the node buffer megabytes.
public struct FrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = ByteBuffer

    public let maxFrameBytes: Int
    public let firstFrameMaxBytes: Int
    public let firstFrames: Int
    private var framesSeen = 0

    public init(maxFrameBytes: Int = EnvelopeLimits.maxBytes, firstFrameMaxBytes: Int? = nil, firstFrames: Int = 1) {
        self.maxFrameBytes = maxFrameBytes
        self.firstFrameMaxBytes = firstFrameMaxBytes ?? maxFrameBytes
        self.firstFrames = firstFrames
    }

    /// The next whole frame at the front of `buffer` (consumed), or nil until more bytes
    /// arrive. The same rule for a pipeline and for the blocking control client.
    public mutating func nextFrame(_ buffer: inout ByteBuffer) throws -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        let limit = framesSeen < firstFrames ? firstFrameMaxBytes : maxFrameBytes
        guard length > 0, Int(length) <= limit else {
            throw FrameError.badLength(Int(length), max: limit)
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        framesSeen += 1
        return buffer.readSlice(length: Int(length))
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try nextFrame(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        try checkEnd(of: buffer)
        return .needMoreData
    }

    /// At the end of the stream, after every whole frame was taken: bytes left over are a frame
    /// cut short. The same rule for a pipeline and for the blocking control client.
    public func checkEnd(of buffer: ByteBuffer) throws {
        if buffer.readableBytes > 0 { throw FrameError.truncated(buffer.readableBytes) }
    }
}

/// Prefixes each outgoing frame with its length.
public struct FrameEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = ByteBuffer

    public init() {}

    public func encode(data: ByteBuffer, out: inout ByteBuffer) throws {
        out.writeInteger(UInt32(data.readableBytes))
        out.writeImmutableBuffer(data)
    }

    /// `bytes` with their length prefix, for writers outside a pipeline.
    public static func frame(_ bytes: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: UInt32(bytes.count).bigEndian, Array.init) + bytes
    }
}

/// Why a frame was refused.
public enum FrameError: Error, Sendable, Equatable, CustomStringConvertible {
    case badLength(Int, max: Int)
    case truncated(Int)

    public var description: String {
        switch self {
        case .badLength(let length, let max): "frame length \(length) is not between 1 and \(max) bytes"
        case .truncated(let count): "connection closed in the middle of a frame (\(count) bytes left over)"
        }
    }
}
