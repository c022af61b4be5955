/// Host lists folded the way `clush` and `pdsh` print them: names that differ only in a
/// trailing number become one range, `web[01-03,07]`; other names stay as they are. Names are
/// sorted (by prefix, then number); numbers keep their zero padding, and only numbers of the
/// same width fold together.
public enum HostList {
    public static func compact(_ hosts: [String]) -> String {
        struct Numbered { var prefix: String; var digits: String; var value: Int }
        var plain: [String] = []
        var numbered: [String: [Numbered]] = [:]  // by prefix and width
        for host in Set(hosts) {
            let digits = String(host.reversed().prefix { $0.isASCII && $0.isNumber }.reversed())
            guard !digits.isEmpty, digits.count < host.count, digits.count <= 18, let value = Int(digits) else {
                plain.append(host)
                continue
            }
            let prefix = String(host.dropLast(digits.count))
            numbered["\(prefix)\u{0}\(digits.count)", default: []].append(Numbered(prefix: prefix, digits: digits, value: value))
        }
        var parts: [(prefix: String, number: Int, text: String)] = plain.map { ($0, -1, $0) }
        for (_, group) in numbered {
            let sorted = group.sorted { $0.value < $1.value }
            let prefix = sorted[0].prefix
            guard sorted.count > 1 else {
                parts.append((prefix, sorted[0].value, prefix + sorted[0].digits))
                continue
            }
            var ranges: [String] = []
            var start = sorted[0], end = sorted[0]
            for item in sorted.dropFirst() {
                if item.value == end.value + 1 {
                    end = item
                } else {
                    ranges.append(start.value == end.value ? start.digits : "\(start.digits)-\(end.digits)")
                    start = item
                    end = item
                }
            }
            ranges.append(start.value == end.value ? start.digits : "\(start.digits)-\(end.digits)")
            parts.append((prefix, sorted[0].value, "\(prefix)[\(ranges.joined(separator: ","))]"))
        }
        return parts.sorted { ($0.prefix, $0.number) < ($1.prefix, $1.number) }.map(\.text).joined(separator: ",")
    }
}
