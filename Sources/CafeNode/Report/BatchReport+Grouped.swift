import CafeCore

extension BatchReport {
    /// `cafe show --group`: for each request, each set of hosts with identical results under
    /// one header (hosts folded, `web[01-20]`, and counted), then every command with its whole
    /// output, as `clush -b` prints it.
    ///
    /// ```
    /// == activate_dialup: ok
    /// ---- monk[1-2],cluster1 (3): ok
    /// $ /usr/sbin/useradd -m cranky   exit 0, 0.004 s
    /// uid=1001(cranky) gid=1001(cranky)
    /// ```
    public func grouped() -> String {
        var lines = headerLines()
        for (index, request) in batch.requests.enumerated() {
            lines.append(TerminalText.safe("== \(request.name): \(request.state.rawValue)\(request.note.map { " (\($0))" } ?? "")"))
            for group in groups(rows[index]) {
                let first = group[0]
                var header = "---- \(HostList.compact(group.map(\.record.host))) (\(group.count)): \(first.record.state.rawValue)"
                if unverified(group) { header += " (UNVERIFIED)" }
                lines.append(TerminalText.safe(header))
                for detail in [first.record.note, first.result?.message, group.compactMap(\.problem).first].compactMap({ $0 }) {
                    lines.append(TerminalText.safe(detail))
                }
                for (index, command) in (first.result?.commands ?? []).enumerated() {
                    lines.append(TerminalText.safe(
                        "$ \(command.command.description)   exit \(Self.exitCell(command)), \(YAMLEmitter.formatSeconds(Self.slowest(group, command: index))) s"))
                    lines += Self.outputLines(command, max: Int.max, width: nil).map { TerminalText.safe($0, keepTabs: true) }
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
