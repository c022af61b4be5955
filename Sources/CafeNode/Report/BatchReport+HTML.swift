import CafeCore
import CafeWire

extension BatchReport {
    /// `cafe show --html`: the report as one self-contained HTML page, with no external assets
    /// (inline CSS and a small inline script; a Content-Security-Policy forbids loading anything).
    ///
    /// The page has, in order: the verification banner (`verified`, or `NOT VERIFIED` with every
    /// failed check, and what the signatures were checked against: `keys`, at `time`), the
    /// batch, its requests with their groups in order, a timeline of the groups, a per-host table
    /// that filters by state, each host's commands with their output, and every verdict. Hosts
    /// below a forwarding host are `gateway/leaf`, as in ``table(outputLines:)``.
    ///
    /// Every text from the file goes through ``TerminalText/html(_:multiline:)``. Host rows and
    /// outputs carry `class="host"`, `data-state` (`ok`, `failed`, `no-answer`, …) and
    /// `data-signature` (`verified`, `unsigned`, `not-verified`: this row's own check failed,
    /// `file-not-verified`: the file's did). The script shows only the rows of the state named
    /// by the URL fragment `#state=STATE` (which the filter buttons set); without one, all.
    public func html(keys: KeyRing, checkedAt time: Timestamp) -> String {
        let title = "cafe batch \(batch.name) (\(batch.id)): \(batch.state.rawValue), \(isVerified ? "verified" : "NOT VERIFIED")"
        var page = [
            "<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">",
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">",
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
            "<title>\(h(title))</title>", "<style>", Self.style, "</style>", "</head>", "<body>",
        ]
        page += banner(keys: keys, checkedAt: time) + batchSection() + requestSections() + timeline() + hostTable() + outputs() + verdicts()
        page += ["<script>", Self.script, "</script>", "</body>", "</html>"]
        return page.joined(separator: "\n") + "\n"
    }

    typealias Row = (record: HostRecord, result: HostResult?, problem: String?)

    private func h(_ text: String) -> String { TerminalText.html(text) }

    // MARK: - Verification

    private func banner(keys: KeyRing, checkedAt time: Timestamp) -> [String] {
        let checks = verification?.verdicts.count ?? 0
        var lines: [String]
        if isVerified {
            lines = [
                "<section id=\"verification\" class=\"banner verified\" data-verified=\"true\">", "<h1>verified</h1>",
                "<p>All \(checks) checks passed when this page was written (\(time)): the origin's signature, every host's signed result, and every state against the signed results and the delivery plan.</p>",
            ]
        } else {
            lines = [
                "<section id=\"verification\" class=\"banner not-verified\" data-verified=\"false\">", "<h1>NOT VERIFIED</h1>",
                verification == nil
                    ? "<p>This file was not checked; nothing on this page can be trusted.</p>"
                    : "<p>\(problems.count) of \(checks) checks failed when this page was written (\(time)); nothing on this page can be trusted. cafe verify shows the same checks.</p>",
                "<ul class=\"problems\">",
            ]
            lines += problems.map { "<li>\(h($0))</li>" }
            lines.append("</ul>")
        }
        lines.append("<p>Checked against:</p>")
        lines.append("<ul class=\"anchors\">")
        lines += Self.anchors(keys).map { "<li>\(h($0))</li>" }
        lines += ["</ul>", "</section>"]
        return lines
    }

    /// What signatures could be checked against: pinned and retired keys, fleet keys, revocation lists.
    static func anchors(_ keys: KeyRing) -> [String] {
        var anchors = keys.keys.sorted { $0.key < $1.key }.map { "key of \($0.key): \($0.value.fingerprint) (node.yaml, or a key transition it signed)" }
        for (name, retired) in keys.retired.sorted(by: { $0.key < $1.key }) {
            anchors += retired.map { "retired key of \(name): \($0.key.fingerprint), valid before \($0.until)" }
        }
        anchors += keys.fleets.map { "certificates of fleet \($0.name ?? "(--fleet)") key \($0.key.fingerprint)" }
        anchors += keys.revocations.lists.values.sorted { $0.fleet < $1.fleet }.map {
            "revocation list of fleet \($0.fleet), updated \($0.updated): \($0.revoked.count) serial(s) revoked"
        }
        return anchors.isEmpty ? ["no key at all: give cafe show --home of a node that knows the signers, or --fleet KEY"] : anchors
    }

    /// `data-signature` and the words for one row.
    private func signature(_ row: Row) -> (status: String, label: String, detail: String) {
        if let problem = row.problem { return ("not-verified", "NOT VERIFIED", problem) }
        let signed = row.record.signedResult != nil
        if !isVerified {
            return ("file-not-verified", "NOT VERIFIED",
                    signed ? "this result's own signature holds, but the file as a whole does not verify" : "the origin's account, in a file that does not verify")
        }
        return signed
            ? ("verified", "verified", "signed by \(row.record.host.split(separator: "/").last.map(String.init) ?? row.record.host)")
            : ("unsigned", "unsigned", "the origin's account; no result to verify")
    }

    private func verdicts() -> [String] {
        var lines = [
            "<section id=\"verdicts\">", "<h2>Every check</h2>",
            "<table>", "<thead><tr><th>subject</th><th>verdict</th><th>detail</th></tr></thead>", "<tbody>",
        ]
        lines += (verification?.verdicts ?? []).map { verdict in
            "<tr class=\"verdict\" data-passed=\"\(verdict.passed)\"><td>\(h(verdict.subject))</td><td class=\"\(verdict.passed ? "pass" : "fail")\">\(verdict.passed ? "PASS" : "FAIL")</td><td>\(h(verdict.detail))</td></tr>"
        }
        lines += ["</tbody>", "</table>", "</section>"]
        return lines
    }

    // MARK: - Batch and requests

    private func batchSection() -> [String] {
        var fields = [("id", batch.id.rawValue), ("name", batch.name), ("origin", batch.origin), ("state", batch.state.rawValue), ("created", batch.created.description)]
        if let cancelled = batch.cancelled { fields.append(("cancelled", cancelled.description)) }
        if let finished = batch.finished {
            fields += [("finished", finished.description), ("took", YAMLEmitter.formatSeconds(max(0, finished.seconds(since: batch.created))) + " s")]
        }
        return ["<section id=\"batch\">", "<h2>Batch</h2>", "<dl>"]
            + fields.map { "<dt>\($0.0)</dt><dd>\(h($0.1))</dd>" }
            + ["</dl>", "</section>"]
    }

    /// The request's groups as the file records them, or its hosts as one group when it records
    /// none (local runs).
    static func groups(of request: Request) -> (groups: [[String]], recorded: Bool) {
        request.groups.map { ($0.map(\.hosts), true) } ?? ([request.records.map(\.host)], false)
    }

    private func requestSections() -> [String] {
        var lines = ["<section id=\"requests\">", "<h2>Requests</h2>"]
        for (index, request) in batch.requests.enumerated() {
            lines.append("<section class=\"request\" data-state=\"\(h(request.state.rawValue))\">")
            lines.append("<h3>\(index + 1). \(h(request.name)): <span class=\"state\">\(h(request.state.rawValue))</span></h3>")
            if let note = request.note { lines.append("<p class=\"note\">\(h(note))</p>") }
            let data = request.data.fields.map { "\($0.key)=\($0.value)" } + request.data.secretKeys.map { "\($0)=(secret, not in the file)" }
            if !data.isEmpty { lines.append("<p>data: <code>\(h(data.joined(separator: " ")))</code></p>") }
            if request.isAdhoc {
                lines.append("<p>ad-hoc commands: " + request.commands.map { "<code>\(h($0.spec.description))</code>" }.joined(separator: ", ") + "</p>")
            }
            let (groups, recorded) = Self.groups(of: request)
            if recorded {
                lines.append("<ol class=\"groups\">")
                lines += (request.groups ?? []).enumerated().map { number, group in
                    var rules: [String] = []
                    if let batch = group.batch { rules.append("\(batch) at a time") }
                    if let budget = group.maxFailures { rules.append("up to \(budget) may fail") }
                    if let pause = group.pause { rules.append("pause \(YAMLEmitter.formatSeconds(pause)) s") }
                    if let check = group.check {
                        let ran = request.checks.first { $0.group == number }
                        rules.append("check \(check)" + (ran.map { ": " + $0.records.map { "\($0.host) \($0.state.rawValue)" }.joined(separator: ", ") } ?? " (not run)"))
                    }
                    return "<li>\(h(HostList.compact(group.hosts)))" + (rules.isEmpty ? "" : " <span class=\"rules\">(\(h(rules.joined(separator: "; "))))</span>") + "</li>"
                }
                lines.append("</ol>")
            } else if !request.records.isEmpty {
                lines.append("<p>hosts (the file records no groups): \(h(HostList.compact(groups[0])))</p>")
            }
            lines.append("</section>")
        }
        lines.append("</section>")
        return lines
    }

    // MARK: - Timeline

    /// From the earliest start to the latest end of the commands `rows` ran; nil when none ran one.
    static func span(of rows: [Row]) -> (start: Timestamp, end: Timestamp)? {
        let commands = rows.flatMap { $0.result?.commands ?? [] }
        guard let start = commands.map(\.started).min(),
            let end = commands.map({ $0.started.adding(seconds: $0.duration) }).max()
        else { return nil }
        return (start, end)
    }

    /// For each row of request `index`, the position of its group among the request's groups:
    /// by its host or, for `gateway/leaf`, its forwarding host; nil for a host in none.
    private func groupPositions(_ index: Int) -> [Int?] {
        var position: [String: Int] = [:]
        for (number, group) in Self.groups(of: batch.requests[index]).groups.enumerated() {
            for host in group where position[host] == nil { position[host] = number }
        }
        return rows[index].map { position[String($0.record.host.prefix { $0 != "/" })] }
    }

    private func timeline() -> [String] {
        var lanes: [(label: String, hosts: Int, span: (start: Timestamp, end: Timestamp)?, ran: Int)] = []
        for (index, request) in batch.requests.enumerated() {
            let (groups, recorded) = Self.groups(of: request)
            var membersOf = Array(repeating: [Row](), count: groups.count)
            for (row, position) in zip(rows[index], groupPositions(index)) {
                if let position { membersOf[position].append(row) }
            }
            for (number, group) in groups.enumerated() where !group.isEmpty {
                let members = membersOf[number]
                lanes.append((
                    "\(request.name) · \(recorded ? "group \(number + 1)" : "hosts") (\(HostList.compact(group)))", members.count,
                    Self.span(of: members), members.filter { !($0.result?.commands ?? []).isEmpty }.count))
            }
        }
        let spans = lanes.compactMap(\.span)
        let start = min(batch.created, spans.map(\.start).min() ?? batch.created)
        let end = max(batch.finished ?? batch.created, spans.map(\.end).max() ?? batch.created)
        let total = max(end.seconds(since: start), 0.001)
        var lines = [
            "<section id=\"timeline\">", "<h2>Timeline</h2>",
            "<p>From \(start) to \(end) (\(YAMLEmitter.formatSeconds(total)) s). Each bar runs from the first command start to the last command end on the group's hosts, by the hosts' own clocks, as their signed results record them.</p>",
            "<div class=\"lanes\">",
        ]
        for lane in lanes {
            var bar = ""
            var words = "no command ran"
            if let span = lane.span {
                let left = span.start.seconds(since: start) / total
                let width = min(max(span.end.seconds(since: span.start) / total, 0.005), 1 - left)
                bar = "<span class=\"bar\" style=\"left:\(Self.percent(left));width:\(Self.percent(width))\"></span>"
                words = "+\(YAMLEmitter.formatSeconds(span.start.seconds(since: start))) s for \(YAMLEmitter.formatSeconds(span.end.seconds(since: span.start))) s; \(lane.ran) of \(lane.hosts) host(s) ran commands"
            }
            lines.append("<div class=\"lane\"><span class=\"label\">\(h(lane.label))</span><span class=\"track\">\(bar)</span><span class=\"when\">\(h(words))</span></div>")
        }
        lines += ["</div>", "</section>"]
        return lines
    }

    /// `12.3%` for 0.123.
    static func percent(_ fraction: Double) -> String {
        let tenths = Int((max(0, fraction) * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }

    // MARK: - Hosts

    private func hostTable() -> [String] {
        let all = rows.joined()
        let counts = HostState.allCases.map { state in (state, all.filter { $0.record.state == state }.count) }.filter { $0.1 > 0 }
        var lines = [
            "<section id=\"hosts\">", "<h2>Hosts</h2>",
            "<div id=\"filter\" role=\"group\" aria-label=\"show hosts by state\">",
            "<button type=\"button\" data-filter=\"all\" aria-pressed=\"true\">all (\(all.count))</button>",
        ]
        lines += counts.map { "<button type=\"button\" data-filter=\"\($0.0.rawValue)\" aria-pressed=\"false\">\($0.0.rawValue) (\($0.1))</button>" }
        lines += [
            "</div>", "<p id=\"shown\" data-total=\"\(all.count)\">showing all \(all.count) host rows</p>",
            "<table>", "<thead><tr><th>request</th><th>group</th><th>host</th><th>state</th><th>signature</th><th>note</th></tr></thead>", "<tbody>",
        ]
        for (index, request) in batch.requests.enumerated() {
            let recorded = request.groups != nil
            let positions = groupPositions(index)
            for (number, row) in rows[index].enumerated() {
                let group = recorded ? positions[number].map { String($0 + 1) } ?? "-" : "-"
                let signature = signature(row)
                let note = [row.record.note, row.result?.message].compactMap { $0 }.joined(separator: "; ")
                lines.append(
                    "<tr class=\"host\" id=\"host-\(index)-\(number)\" data-state=\"\(h(row.record.state.rawValue))\" data-signature=\"\(signature.status)\">"
                        + "<td>\(h(request.name))</td><td>\(group)</td><td><a href=\"#output-\(index)-\(number)\">\(h(row.record.host))</a></td>"
                        + "<td class=\"state\">\(h(row.record.state.rawValue))</td>"
                        + "<td class=\"signature \(signature.status)\"><strong>\(signature.label)</strong> \(h(signature.detail))</td><td>\(h(note))</td></tr>")
            }
        }
        lines += ["</tbody>", "</table>", "</section>"]
        return lines
    }

    private func outputs() -> [String] {
        var lines = ["<section id=\"outputs\">", "<h2>Commands and output</h2>"]
        for (index, request) in batch.requests.enumerated() {
            for (number, row) in rows[index].enumerated() {
                let signature = signature(row)
                lines.append("<article class=\"host\" id=\"output-\(index)-\(number)\" data-state=\"\(h(row.record.state.rawValue))\" data-signature=\"\(signature.status)\">")
                lines.append("<h3>\(h(request.name)) on \(h(row.record.host)): <span class=\"state\">\(h(row.record.state.rawValue))</span></h3>")
                lines.append("<p class=\"signature \(signature.status)\"><strong>\(signature.label)</strong> \(h(signature.detail))</p>")
                for note in [row.record.note, row.result?.message].compactMap({ $0 }) { lines.append("<p class=\"note\">\(h(note))</p>") }
                for command in row.result?.commands ?? [] { lines += commandLines(command) }
                lines.append("</article>")
            }
        }
        lines.append("</section>")
        return lines
    }

    /// One command: what ran, how it ended, when and for how long, then each stream whole.
    private func commandLines(_ command: CommandResult) -> [String] {
        var lines = [
            "<div class=\"command\">",
            "<p><code>$ \(h(command.command.description))</code> <span class=\"outcome\">\(h(command.outcomeSummary))</span>, started \(command.started), \(YAMLEmitter.formatSeconds(command.duration)) s</p>",
        ]
        if let note = command.note { lines.append("<p class=\"note\">\(h(note))</p>") }
        for (name, output) in [("stdout", command.stdout), ("stderr", command.stderr)] where !output.bytes.isEmpty || output.isTruncated {
            let text = output.text.map { TerminalText.html($0, multiline: true) } ?? "(\(output.bytes.count) bytes of binary output, not shown)"
            // The line break after <pre> is dropped by HTML parsers; the output's own first one stays.
            lines.append("<pre class=\"\(name)\" title=\"\(name)\">\n\(text)</pre>")
            if output.isTruncated { lines.append("<p class=\"note\">\(name) truncated: \(output.droppedBytes) bytes dropped</p>") }
        }
        lines.append("</div>")
        return lines
    }

    // MARK: - Style and script

    static let style = """
        body { font: 14px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #111; }
        table { border-collapse: collapse; width: 100%; }
        th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
        code, pre { font: 13px/1.3 ui-monospace, monospace; }
        pre { background: #f4f4f4; padding: 4px 6px; white-space: pre-wrap; overflow-wrap: anywhere; margin: 2px 0; }
        pre.stderr { background: #fbeeee; }
        .banner { padding: 6px 12px; border: 3px solid; margin-bottom: 1em; }
        .banner.verified { border-color: #2a7d2a; background: #eef8ee; }
        .banner.not-verified { border-color: #b00; background: #fdd; }
        .banner.not-verified h1 { color: #b00; font-size: 2.2em; margin: 0.2em 0; }
        .signature.verified strong, .pass { color: #2a7d2a; }
        .signature.not-verified, .signature.file-not-verified, .fail { color: #b00; font-weight: bold; }
        tr[data-state="failed"] td.state, tr[data-state="no-answer"] td.state, tr[data-state="denied"] td.state,
        tr[data-state="expired"] td.state { color: #b00; font-weight: bold; }
        dl { display: grid; grid-template-columns: max-content auto; gap: 0 1em; }
        dd { margin: 0; }
        #filter button[aria-pressed="true"] { font-weight: bold; }
        .lane { display: grid; grid-template-columns: 22em 1fr 22em; gap: 1em; align-items: center; margin: 2px 0; }
        .track { position: relative; height: 1em; background: #eee; }
        .bar { position: absolute; top: 0; bottom: 0; background: #3a6ea5; }
        article.host { border-top: 1px solid #ccc; margin-top: 0.5em; }
        """

    static let script = """
        (function () {
          "use strict";
          var hosts = document.querySelectorAll(".host");
          var buttons = document.querySelectorAll("#filter button");
          var shown = document.getElementById("shown");
          // #state=STATE shows the hosts in that state; no fragment shows all; a link to a
          // host's output (#output-…) leaves the filter as it is.
          function apply() {
            var match = /^#state=([a-z-]+)$/.exec(location.hash);
            if (!match && location.hash !== "") return;
            var state = match ? match[1] : "all";
            var rows = 0;
            hosts.forEach(function (host) {
              host.hidden = state !== "all" && host.dataset.state !== state;
              if (!host.hidden && host.tagName === "TR") rows += 1;
            });
            buttons.forEach(function (button) {
              button.setAttribute("aria-pressed", String(button.dataset.filter === state));
            });
            shown.textContent = state === "all"
              ? "showing all " + shown.dataset.total + " host rows"
              : "showing " + rows + " of " + shown.dataset.total + " host rows: " + state;
          }
          buttons.forEach(function (button) {
            button.addEventListener("click", function () { location.hash = "state=" + button.dataset.filter; });
          });
          window.addEventListener("hashchange", apply);
          apply();
        })();
        """
}
