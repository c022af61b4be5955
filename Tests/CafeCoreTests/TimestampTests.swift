import CafeCore
import Glibc
import Testing

/// Timestamps as every file and log line shows them, against glibc's own calendar.
@Suite("timestamps")
struct TimestampTests {
    /// What `gmtime_r` makes of `milliseconds`: the independent reference.
    static func reference(_ milliseconds: Int64, compact: Bool) -> String {
        var seconds = time_t(milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
        let milli = milliseconds - Int64(seconds) * 1000
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let year = "\(parts.tm_year + 1900)"
        let paddedYear = String(repeating: "0", count: max(0, 4 - year.count)) + year
        let millis = String(repeating: "0", count: 3 - "\(milli)".count) + "\(milli)"
        let (month, day) = (two(parts.tm_mon + 1), two(parts.tm_mday))
        let (hour, minute, second) = (two(parts.tm_hour), two(parts.tm_min), two(parts.tm_sec))
        return compact
            ? "\(paddedYear)\(month)\(day)-\(hour)\(minute)\(second)-\(millis)"
            : "\(paddedYear)-\(month)-\(day)T\(hour):\(minute):\(second).\(millis)Z"
    }

    @Test("known instants in both forms")
    func known() {
        let instant = Timestamp(milliseconds: 1_796_311_812_345)
        #expect(instant.description == "2026-12-03T15:30:12.345Z")
        #expect(instant.compact == "20261203-153012-345")
        #expect(Timestamp(milliseconds: 0).description == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(milliseconds: -1).description == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp(milliseconds: 951_782_400_007).description == "2000-02-29T00:00:00.007Z")
    }

    @Test("every form agrees with gmtime and parses back, from year 0 to 9999")
    func agreesWithGlibc() {
        let random = SeededRandomSource(seed: 7)
        let first: Int64 = -62_167_219_200_000  // 0000-01-01T00:00:00.000Z
        let last: Int64 = 253_402_300_799_999  // 9999-12-31T23:59:59.999Z
        var samples: [Int64] = [first, last, 0, -1, 951_868_799_999, 951_868_800_000]
        for _ in 0..<5_000 {
            let bytes = random.bytes(8)
            let raw = bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            samples.append(first + Int64(raw % UInt64(last - first + 1)))
        }
        for milliseconds in samples {
            let instant = Timestamp(milliseconds: milliseconds)
            #expect(instant.description == Self.reference(milliseconds, compact: false))
            #expect(instant.compact == Self.reference(milliseconds, compact: true))
            #expect(Timestamp(iso8601: instant.description) == instant)
        }
    }

    @Test("a year of five digits is written whole")
    func wideYear() {
        let instant = Timestamp(milliseconds: 253_402_300_800_000)  // 10000-01-01T00:00:00.000Z
        #expect(instant.description == "10000-01-01T00:00:00.000Z")
        #expect(instant.compact == "100000101-000000-000")
    }
}
