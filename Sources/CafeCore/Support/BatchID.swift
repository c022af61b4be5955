/// A batch identifier: unique across the network and sortable by creation time,
/// `20261129-153012-345-9f2c1a7be301` (UTC date and time to the millisecond, then 48 random bits).
/// Used as a file name, so only ids that pass ``init(validating:)`` ever reach the disk.
public struct BatchID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String

    /// A fresh id for `time`.
    public init(time: Timestamp, random: any RandomSource) {
        rawValue = time.compact + "-" + random.hex(6)
    }

    /// Accepts only the exact shape this type generates.
    public init?(validating text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 32 else { return nil }
        for (index, byte) in bytes.enumerated() {
            switch index {
            case 8, 15, 19:
                guard byte == UInt8(ascii: "-") else { return nil }
            case 20...:
                guard (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) else { return nil }
            default:
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
            }
        }
        rawValue = text
    }

    public var description: String { rawValue }

    public static func < (lhs: BatchID, rhs: BatchID) -> Bool { lhs.rawValue < rhs.rawValue }
}
