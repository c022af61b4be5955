import CafeCore
import CafeCrypto
import CafeWire

/// An executed batch with every host's result decoded, and whether each one's signature held.
/// Host names, states and outputs are taken from the hosts' signed results, never from the
/// origin's copy beside them; the whole file's verification (``BatchVerifier``) decides whether
/// the report may call itself verified.
public struct BatchReport: Sendable {
    public var batch: Batch
    /// Per request, per host record: the decoded result and the verification problem, if any.
    public var rows: [[(record: HostRecord, result: HostResult?, problem: String?)]]
    /// What `cafe verify` says of the whole file; nil when it was not checked (progress views).
    public var verification: VerificationReport?

    /// Decodes the results of `batch`, verifying each signed one against `keys` (on all cores).
    /// Hosts that a forwarding host fanned the request out to follow it, named `gateway/leaf`.
    public init(batch: Batch, keys: KeyRing, verification: VerificationReport? = nil) {
        self.batch = batch
        self.verification = verification
        rows = batch.requests.map { request in
            request.records.concurrentMap { Self.decode($0, keys: keys, prefix: "") }.flatMap { $0 }
        }
    }

    /// False when the file's verification failed (or was not run).
    public var isVerified: Bool { verification?.passed ?? false }

    /// The failed checks of the file, for the first line and for JSON.
    public var problems: [String] {
        (verification?.verdicts ?? []).filter { !$0.passed }.map { "\($0.subject): \($0.detail)" }
    }

    static func decode(_ record: HostRecord, keys: KeyRing, prefix: String) -> [(record: HostRecord, result: HostResult?, problem: String?)] {
        var shown = record
        shown.host = prefix + record.host
        guard let signed = record.signedResult else { return [(shown, record.result, nil)] }
        let bytes = Array(signed.utf8)
        let row: (record: HostRecord, result: HostResult?, problem: String?)
        do {
            let envelope = try Envelope.open(bytes, keys: keys)
            guard case .result(let body) = envelope.body else { return [(shown, nil, "not a result envelope")] }
            // What the host signed is what is shown; where the file says otherwise, it says so.
            var disagreements: [String] = []
            if body.result.host != record.host || envelope.header.sender != record.host {
                disagreements.append("the file files it under \(record.host), but \(envelope.header.sender) signed it for \(body.result.host)")
            }
            if body.result.state != record.state {
                disagreements.append("the file says '\(record.state.rawValue)', the signed result '\(body.result.state.rawValue)'")
            }
            shown.host = prefix + body.result.host
            shown.state = body.result.state
            row = (shown, body.result, disagreements.isEmpty ? nil : "UNVERIFIED: " + disagreements.joined(separator: "; "))
        } catch {
            let unverified = try? Envelope.decodeUnverified(bytes)
            guard case .result(let body)? = unverified?.body else { return [(shown, nil, "\(error)")] }
            row = (shown, body.result, "unverified: \(error)")
        }
        return [row] + (row.result?.leaves ?? []).flatMap { decode($0, keys: keys, prefix: shown.host + "/") }
    }

    /// The readable table: request, hosts (identical results grouped, as `clush -b` does),
    /// state, command, exit, duration, first lines of output.
    public func table(outputLines: Int = 3) -> String {
        var lines = headerLines()
        var table: [[String]] = [["REQUEST", "HOSTS", "STATE", "COMMAND", "EXIT", "TIME", "OUTPUT"]]
        for (index, request) in batch.requests.enumerated() {
            var requestCell = request.name
            if request.records.isEmpty {
                table.append([requestCell, "-", request.state.rawValue, "", "", "", request.note ?? ""])
                continue
            }
            for group in groups(rows[index]) {
                let first = group[0]
                let hosts = HostList.compact(group.map(\.record.host))
                var state = first.record.state.rawValue
                if unverified(group) { state += " (UNVERIFIED)" }
                var detail: [String] = []
                if let note = first.record.note { detail.append(note) }
                if let message = first.result?.message { detail.append(message) }
                if let problem = group.compactMap(\.problem).first { detail.append(problem) }
                let commands = first.result?.commands ?? []
                if commands.isEmpty {
                    table.append([requestCell, hosts, state, "", "", "", detail.joined(separator: "; ")])
                    requestCell = ""
                }
                for (commandIndex, command) in commands.enumerated() {
                    let slowest = Self.slowest(group, command: commandIndex)
                    var output = Self.outputLines(command, max: outputLines)
                    if commandIndex == 0 { output = detail + output }
                    table.append([
                        requestCell, commandIndex == 0 ? hosts : "", commandIndex == 0 ? state : "",
                        Self.clip(command.command.description, 48), Self.exitCell(command),
                        YAMLEmitter.formatSeconds(slowest) + " s", output.first ?? "",
                    ])
                    for more in output.dropFirst() { table.append(["", "", "", "", "", "", more]) }
                    requestCell = ""
                }
            }
            // Each group's health check, hosts by the state it ended in; then why the request stopped.
            for check in request.checks {
                for state in HostState.allCases {
                    let hosts = check.records.filter { $0.state == state }.map(\.host)
                    if !hosts.isEmpty { table.append(["check \(check.request) (group \(check.group + 1))", HostList.compact(hosts), state.rawValue, "", "", "", ""]) }
                }
            }
            if let note = request.note { table.append(["", "-", request.state.rawValue, "", "", "", note]) }
        }
        lines.append(contentsOf: Self.render(table))
        return lines.joined(separator: "\n") + "\n"
    }

    /// `NOT VERIFIED: …` first when verification failed, then the batch line.
    func headerLines() -> [String] {
        var lines: [String] = []
        if let verification, !verification.passed {
            let problems = self.problems
            lines.append(TerminalText.safe(
                "NOT VERIFIED: \(problems.count) of \(verification.verdicts.count) checks failed; nothing below can be trusted. First: \(problems.first ?? "no signature checked")"))
        }
        let duration = batch.finished.map { " in \(YAMLEmitter.formatSeconds($0.seconds(since: batch.created))) s" } ?? ""
        lines.append(TerminalText.safe("batch \(batch.id) '\(batch.name)' from \(batch.origin): \(batch.state.rawValue)\(duration)"))
        return lines
    }

    /// Whether `group`'s rows are to be marked unverified.
    func unverified(_ group: [(record: HostRecord, result: HostResult?, problem: String?)]) -> Bool {
        group.contains(where: { $0.problem != nil }) || (verification.map { !$0.passed } ?? false)
    }

    /// Records whose results are the same apart from host and timing, in order of first appearance.
    func groups(_ rows: [(record: HostRecord, result: HostResult?, problem: String?)]) -> [[(record: HostRecord, result: HostResult?, problem: String?)]] {
        var groups: [[(record: HostRecord, result: HostResult?, problem: String?)]] = []
        // Each key's group, found by hash: with thousands of hosts that all answered differently,
        // a search through the groups so far made the table grow with the square of the hosts.
        var index: [GroupKey: Int] = [:]
        for row in rows {
            let key = GroupKey(row)
            if let group = index[key] {
                groups[group].append(row)
            } else {
                index[key] = groups.count
                groups.append([row])
            }
        }
        return groups
    }

    struct GroupKey: Hashable {
        var state: HostState
        var note: String?
        var message: String?
        var commands: [[String]]
        var verified: Bool

        init(_ row: (record: HostRecord, result: HostResult?, problem: String?)) {
            state = row.record.state
            note = row.record.note
            message = row.result?.message
            verified = row.problem == nil
            commands = (row.result?.commands ?? []).map {
                [$0.command.description, $0.outcomeSummary, $0.stdout.displayText, $0.stderr.displayText,
                 String($0.stdout.droppedBytes), String($0.stderr.droppedBytes)]
            }
        }
    }

    /// The longest time any host of `group` took for command `index` (hosts of a group ran the
    /// same commands).
    static func slowest(_ group: [(record: HostRecord, result: HostResult?, problem: String?)], command index: Int) -> Double {
        group.compactMap { $0.result?.commands[safe: index]?.duration }.max() ?? 0
    }

    static func exitCell(_ command: CommandResult) -> String {
        if command.timedOutAfter != nil { return "timeout" }
        switch command.termination {
        case .exited(let status): return String(status)
        case .signaled(let signal): return SignalNames.name(signal)
        case .failedToStart: return "not run"
        }
    }

    /// The output of `command`: at most `max` lines of stdout, then of stderr (`stderr: `),
    /// each clipped to `width` characters (whole when nil), and what was cut.
    static func outputLines(_ command: CommandResult, max: Int, width: Int? = 100) -> [String] {
        var lines: [String] = []
        if case .failedToStart(let why) = command.termination { lines.append(why) }
        for (label, output) in [("", command.stdout), ("stderr: ", command.stderr)] {
            let text = output.text ?? "(\(output.bytes.count) bytes of binary output)"
            var outputLines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if outputLines.last == "" { outputLines.removeLast() }
            let shown = outputLines.prefix(max)
            lines += shown.map { line in label + (width.map { clip(line, $0) } ?? line) }
            if outputLines.count > max { lines.append(label + "… \(outputLines.count - max) more line(s)") }
            if output.isTruncated { lines.append(label + "[truncated: \(output.droppedBytes) bytes dropped]") }
        }
        return lines
    }

    static func clip(_ text: String, _ width: Int) -> String {
        let cleaned = TerminalText.safe(text)
        return cleaned.count <= width ? cleaned : String(cleaned.prefix(width - 1)) + "…"
    }

    /// Rows as aligned columns (two spaces apart), every cell made safe for a terminal.
    public static func render(_ rows: [[String]]) -> [String] {
        let table = rows.map { $0.map { TerminalText.safe($0) } }
        guard let columns = table.first?.count else { return [] }
        let widths = (0..<columns).map { column in table.map { $0[column].count }.max() ?? 0 }
        return table.map { row in
            var line = ""
            for (column, cell) in row.enumerated() {
                line += cell
                if column < columns - 1 { line += String(repeating: " ", count: widths[column] - cell.count + 2) }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
    }

    /// The batch and every decoded result as JSON, for scripts.
    public func json() -> String {
        var requests: [YAMLValue] = []
        for (index, request) in batch.requests.enumerated() {
            let hosts: [YAMLValue] = rows[index].map { row in
                var pairs = [YAMLPair("host", .string(row.record.host)), YAMLPair("state", .string(row.record.state.rawValue))]
                if let note = row.record.note { pairs.append(YAMLPair("note", .string(note))) }
                pairs.append(YAMLPair("verified", .bool(isVerified && row.problem == nil && row.record.signedResult != nil)))
                if let problem = row.problem { pairs.append(YAMLPair("problem", .string(problem))) }
                if let result = row.result {
                    if let message = result.message { pairs.append(YAMLPair("message", .string(message))) }
                    pairs.append(YAMLPair("commands", .list(result.commands.map(\.yamlValue))))
                }
                return .map(pairs)
            }
            var fields = [
                YAMLPair("name", .string(request.name)), YAMLPair("state", .string(request.state.rawValue)),
                YAMLPair("data", .map(request.data.fields.map { YAMLPair($0.key, .string($0.value)) })),
                YAMLPair("secrets", .strings(request.data.secretKeys)), YAMLPair("hosts", .list(hosts)),
            ]
            if let note = request.note { fields.append(YAMLPair("note", .string(note))) }
            if let groups = request.groups { fields.append(YAMLPair("groups", .list(groups.map(\.yamlValue)))) }
            if !request.checks.isEmpty {
                fields.append(YAMLPair("checks", .list(request.checks.map { check in
                    .map([
                        YAMLPair("group", .int(check.group + 1)), YAMLPair("request", .string(check.request)),
                        YAMLPair("hosts", .list(check.records.map { .map([YAMLPair("host", .string($0.host)), YAMLPair("state", .string($0.state.rawValue))]) })),
                    ])
                })))
            }
            requests.append(.map(fields))
        }
        var pairs = [
            YAMLPair("verified", .bool(isVerified)), YAMLPair("problems", .strings(problems)),
            YAMLPair("batch", .string(batch.id.rawValue)), YAMLPair("name", .string(batch.name)),
            YAMLPair("origin", .string(batch.origin)), YAMLPair("state", .string(batch.state.rawValue)),
            YAMLPair("created", .string(batch.created.description)),
        ]
        if let finished = batch.finished { pairs.append(YAMLPair("finished", .string(finished.description))) }
        if let cancelled = batch.cancelled { pairs.append(YAMLPair("cancelled", .string(cancelled.description))) }
        pairs.append(YAMLPair("requests", .list(requests)))
        return JSONText.encode(.map(pairs)) + "\n"
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
