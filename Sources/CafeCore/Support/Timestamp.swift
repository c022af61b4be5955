import Glibc

/// A wall-clock instant with millisecond precision, written as `2026-11-29T15:30:12.345Z`.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var milliseconds: Int64

    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// This instant moved by `seconds` (may be negative).
    public func adding(seconds: Double) -> Timestamp {
        Timestamp(milliseconds: milliseconds + Int64((seconds * 1000).rounded()))
    }

    /// Seconds from `other` to this instant.
    public func seconds(since other: Timestamp) -> Double {
        Double(milliseconds - other.milliseconds) / 1000
    }

    /// ISO 8601 in UTC with milliseconds.
    public var description: String {
        format(compact: false)
    }

    /// Compact form for identifiers and file names: `20261129-153012-345`.
    public var compact: String {
        format(compact: true)
    }

    /// `2026-11-29T15:30:12.345Z` or, compact, `20261129-153012-345`, written digit by digit
    /// into the string's own storage: every log line, audit line and envelope header has one.
    private func format(compact: Bool) -> String {
        let days = milliseconds >= 0 ? milliseconds / 86_400_000 : (milliseconds - 86_399_999) / 86_400_000
        let msOfDay = milliseconds - days * 86_400_000
        let (year, month, day) = Self.civil(fromDays: days)
        let fourDigits = (0...9999).contains(year)
        // Each field: its value, its digits, and the character after it (0 for none).
        let fields: [(value: Int64, width: Int, after: UInt8)] = [
            (fourDigits ? year : 0, 4, compact ? 0 : UInt8(ascii: "-")),
            (month, 2, compact ? 0 : UInt8(ascii: "-")),
            (day, 2, compact ? UInt8(ascii: "-") : UInt8(ascii: "T")),
            (msOfDay / 3_600_000, 2, compact ? 0 : UInt8(ascii: ":")),
            (msOfDay / 60_000 % 60, 2, compact ? 0 : UInt8(ascii: ":")),
            (msOfDay / 1000 % 60, 2, compact ? UInt8(ascii: "-") : UInt8(ascii: ".")),
            (msOfDay % 1000, 3, compact ? 0 : UInt8(ascii: "Z")),
        ]
        let text = String(unsafeUninitializedCapacity: compact ? 19 : 24) { buffer in
            var end = 0
            for field in fields {
                var rest = field.value
                for position in stride(from: end + field.width - 1, through: end, by: -1) {
                    buffer[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                end += field.width
                if field.after != 0 {
                    buffer[end] = field.after
                    end += 1
                }
            }
            return end
        }
        // A year of another width is written as it is.
        return fourDigits ? text : String(year) + text.dropFirst(4)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS.mmmZ` (the fraction is optional); nil for anything else.
    public init?(iso8601 text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 20 || bytes.count == 24, bytes.last == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            return value
        }
        func expect(_ index: Int, _ char: Character) -> Bool { bytes[index] == char.asciiValue }
        guard expect(4, "-"), expect(7, "-"), expect(10, "T"), expect(13, ":"), expect(16, ":"),
            let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        var millis: Int64 = 0
        if bytes.count == 24 {
            guard expect(19, "."), let fraction = number(20..<23) else { return nil }
            millis = fraction
        }
        let days = Self.days(fromCivil: year, month, day)
        guard Self.civil(fromDays: days) == (year, month, day) else { return nil }
        self.milliseconds = days * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis
    }

    // Howard Hinnant's days-from-civil algorithms (proleptic Gregorian calendar).
    private static func civil(fromDays z: Int64) -> (Int64, Int64, Int64) {
        let z = z + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    private static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

/// Where "now" comes from; injected so that expiry, skew and timeouts are tested without sleeps.
public protocol WallClock: Sendable {
    func now() -> Timestamp
}

/// The system's real-time clock.
public struct SystemClock: WallClock {
    public init() {}

    public func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}

/// Monotonic seconds, for measuring durations.
public enum Monotonic {
    public static func seconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
