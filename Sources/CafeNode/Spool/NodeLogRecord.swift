import CafeCore
import CafeCrypto

/// One record of `spool/node.log` (``NodeLog``): a change to the outbox, to the request spool
/// or to the audit trail, as one line:
///
/// ```
/// 3f1c0d9a2b7e4c55 outbox ENVELOPE-ID BASE64-OF-THE-SIGNED-ENVELOPE
/// 0a9e6b1d44c2f870 outbox-removed ENVELOPE-ID
/// 91d2c3b4a5f60718 request ORIGIN.BATCH.INDEX BASE64-OF-THE-REQUEST-ENVELOPE
/// 5c4b3a2918076f5e running ORIGIN.BATCH.INDEX
/// 7e6d5c4b3a291807 result ORIGIN.BATCH.INDEX BASE64-OF-THE-SIGNED-RESULT
/// 18f7e6d5c4b3a290 delivered ORIGIN.BATCH.INDEX
/// 2a1b0c9d8e7f6a5b removed ORIGIN.BATCH.INDEX
/// 6f5e4d3c2b1a0f9e audit BASE64-OF-THE-AUDIT-LINE
/// 4d3c2b1a0f9e8d7c audit-mark 18234
/// ```
///
/// The first field is the first 8 bytes of the SHA-256 of the rest of the line, in hex: a line
/// whose checksum fails was damaged on disk and is quarantined, and the lines after it still
/// count. Envelope ids and request stems are validated tokens (no spaces), so a line splits on
/// spaces.
enum NodeLogRecord: Sendable, Equatable {
    /// An envelope kept in the outbox until it is acknowledged or expires.
    case outbox(id: String, envelope: [UInt8])
    /// An outbox entry that went (acknowledged, expired or quarantined).
    case outboxRemoved(id: String)
    /// A verified request stored in the spool, under its ``RequestKey/stem``.
    case request(stem: String, envelope: [UInt8])
    /// The request's first command is about to start: after a crash it is reported interrupted.
    case running(stem: String)
    /// The request's signed result, stored before it is sent home.
    case result(stem: String, envelope: [UInt8])
    /// Whoever asked acknowledged the result.
    case delivered(stem: String)
    /// The request expired and its entry went.
    case requestRemoved(stem: String)
    /// A line of `log/audit.log` (with its newline), durable here before the node acts on it
    /// and appended to the audit log after.
    case audit(String)
    /// `log/audit.log` held this many bytes, all of them flushed, when the log was compacted:
    /// the audit lines of this log belong after that offset.
    case auditMark(UInt64)

    /// The line, with its checksum and newline.
    var line: [UInt8] {
        let body: String
        switch self {
        case .outbox(let id, let envelope): body = "outbox \(id) \(Base64.encode(envelope))"
        case .outboxRemoved(let id): body = "outbox-removed \(id)"
        case .request(let stem, let envelope): body = "request \(stem) \(Base64.encode(envelope))"
        case .running(let stem): body = "running \(stem)"
        case .result(let stem, let envelope): body = "result \(stem) \(Base64.encode(envelope))"
        case .delivered(let stem): body = "delivered \(stem)"
        case .requestRemoved(let stem): body = "removed \(stem)"
        case .audit(let text): body = "audit \(Base64.encode(Array(text.utf8)))"
        case .auditMark(let offset): body = "audit-mark \(offset)"
        }
        let bytes = Array(body.utf8)
        return Array(Self.checksum(bytes).utf8) + [UInt8(ascii: " ")] + bytes + [UInt8(ascii: "\n")]
    }

    /// Parses one line (without its newline); the error says what is wrong with it.
    init(line: some Collection<UInt8>) throws(NodeLogRecord.Damage) {
        let bytes = Array(line)
        guard bytes.count > 17, bytes[16] == UInt8(ascii: " ") else { throw .init("too short to hold a checksum and a record") }
        let body = Array(bytes[17...])
        guard String(decoding: bytes[..<16], as: UTF8.self) == Self.checksum(body) else {
            throw .init("its checksum does not match (the line was damaged on disk)")
        }
        let fields = body.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        func decoded(_ text: String) throws(Damage) -> [UInt8] {
            guard let bytes = Base64.decode(text) else { throw .init("its \(fields[0]) field is not base64") }
            return bytes
        }
        switch (fields[0], fields.count) {
        case ("outbox", 3): self = .outbox(id: fields[1], envelope: try decoded(fields[2]))
        case ("outbox-removed", 2): self = .outboxRemoved(id: fields[1])
        case ("request", 3): self = .request(stem: fields[1], envelope: try decoded(fields[2]))
        case ("running", 2): self = .running(stem: fields[1])
        case ("result", 3): self = .result(stem: fields[1], envelope: try decoded(fields[2]))
        case ("delivered", 2): self = .delivered(stem: fields[1])
        case ("removed", 2): self = .requestRemoved(stem: fields[1])
        case ("audit", 2): self = .audit(String(decoding: try decoded(fields[1]), as: UTF8.self))
        case ("audit-mark", 2):
            guard let offset = UInt64(fields[1]) else { throw .init("its offset is not a number") }
            self = .auditMark(offset)
        default: throw .init("'\(fields[0].prefix(32))' with \(fields.count - 1) fields is not a record this version knows")
        }
    }

    /// Why a line is not a record.
    struct Damage: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func checksum(_ body: [UInt8]) -> String { Hex.encode(SHA256.hash(body).prefix(8)) }
}
