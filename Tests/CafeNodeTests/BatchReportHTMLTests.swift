import CafeCore
import Testing

@testable import CafeNode
@testable import CafeWire

/// `BatchReport.html`, the page `cafe show --html` writes, rendered from a report made here
/// (ShowHTMLTests loads real pages in a browser).
@Suite("cafe show --html, the page")
struct BatchReportHTMLTests {
    let created = Timestamp(iso8601: "2026-12-02T10:00:00.000Z")!

    func command(_ text: String, at offset: Double, for duration: Double, stdout: String = "") -> CommandResult {
        CommandResult(
            command: .shell(text), termination: .exited(0), started: created.adding(seconds: offset), duration: duration,
            stdout: CapturedOutput(bytes: Array(stdout.utf8)))
    }

    /// deploy: group 1 is gw, which forwarded to leaf1; group 2 is db1, skipped.
    func report(verdicts: [Verdict]?, problem: String? = nil) -> BatchReport {
        var request = Request(name: "deploy")
        request.groups = [["gw"], ["db1"]]
        request.state = .failed
        request.records = [HostRecord(host: "gw", state: .failed), HostRecord(host: "db1", state: .skipped)]
        var batch = Batch(
            id: BatchID(validating: "20261202-100000-000-0123456789ab")!, name: "evil <script>alert(1)</script>", origin: "jlore",
            created: created, requests: [request])
        batch.state = .error
        batch.finished = created.adding(seconds: 1)
        var report = BatchReport(batch: batch, keys: KeyRing(), verification: verdicts.map { VerificationReport(verdicts: $0) })
        report.rows = [[
            (HostRecord(host: "gw", state: .failed, note: "below gw: leaf1 failed", signedResult: "signed"),
             HostResult(host: "gw", state: .failed, commands: [command("fan out", at: 0.1, for: 0.1)]), nil),
            (HostRecord(host: "gw/leaf1", state: .failed, signedResult: "signed"),
             HostResult(host: "leaf1", state: .failed, commands: [command("deploy", at: 0.2, for: 0.3, stdout: "</pre><img src=x onerror=alert(1)>\n")]), problem),
            (HostRecord(host: "db1", state: .skipped), nil, nil),
        ]]
        return report
    }

    /// The `<tr class="host" …>` start tags.
    func hostRows(_ page: String) -> [Substring] {
        page.split(separator: "\n").filter { $0.hasPrefix("<tr class=\"host\"") }
    }

    @Test("a verified report: groups in order, leaves under their gateway's group, a timeline from the commands' times, outputs escaped")
    func verified() throws {
        let page = report(verdicts: [Verdict(subject: "batch file", passed: true, detail: "signed by origin jlore")])
            .html(keys: KeyRing(), checkedAt: created.adding(seconds: 60))
        #expect(page.contains("<h1>verified</h1>") && !page.contains("NOT VERIFIED"))
        #expect(page.contains("when this page was written (2026-12-02T10:01:00.000Z)"))
        #expect(page.contains("<li>no key at all: give cafe show --home of a node that knows the signers, or --fleet KEY</li>"))
        #expect(page.contains("<ol class=\"groups\">\n<li>gw</li>\n<li>db1</li>\n</ol>"))
        let rows = hostRows(page)
        #expect(rows.count == 3)
        #expect(rows[1].contains("data-state=\"failed\" data-signature=\"verified\"><td>deploy</td><td>1</td><td><a href=\"#output-0-1\">gw/leaf1</a>"))
        #expect(rows[2].contains("data-state=\"skipped\" data-signature=\"unsigned\"><td>deploy</td><td>2</td>"))
        #expect(page.contains("<button type=\"button\" data-filter=\"failed\" aria-pressed=\"false\">failed (2)</button>"))
        // Group 1 ran from 0.1 s (gw) to 0.5 s (its leaf) of a batch that took 1 s; group 2 ran nothing.
        #expect(page.contains(
            "<span class=\"bar\" style=\"left:10.0%;width:40.0%\"></span></span><span class=\"when\">+0.100 s for 0.400 s; 2 of 2 host(s) ran commands</span>"))
        #expect(page.contains("deploy · group 2 (db1)</span><span class=\"track\"></span><span class=\"when\">no command ran</span>"))
        // Text from the file is text: the one script element is the page's own.
        #expect(page.components(separatedBy: "<script").count == 2)
        #expect(!page.contains("<img"))
        #expect(page.contains("<title>cafe batch evil &lt;script&gt;alert(1)&lt;/script&gt; (20261202-100000-000-0123456789ab): error, verified</title>"))
        #expect(page.contains("<pre class=\"stdout\" title=\"stdout\">\n&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;\n</pre>"))
        // Nothing from elsewhere: no URL but the page's own fragments.
        #expect(!page.contains("http:") && !page.contains("https:") && !page.contains("src=\""))
    }

    @Test("a report that failed verification: the NOT VERIFIED banner with every failed check, the failing row and every other row marked")
    func notVerified() {
        let page = report(
            verdicts: [
                Verdict(subject: "batch file", passed: false, detail: "bad signature <by mallory>"),
                Verdict(subject: "states", passed: true, detail: "fine"),
            ],
            problem: "unverified: the signature does not match"
        ).html(keys: KeyRing(), checkedAt: created)
        #expect(page.contains("<section id=\"verification\" class=\"banner not-verified\" data-verified=\"false\">\n<h1>NOT VERIFIED</h1>"))
        #expect(page.contains("<p>1 of 2 checks failed when this page was written"))
        #expect(page.contains("<li>batch file: bad signature &lt;by mallory&gt;</li>"))
        #expect(page.contains("<tr class=\"verdict\" data-passed=\"false\"><td>batch file</td><td class=\"fail\">FAIL</td>"))
        let rows = hostRows(page)
        #expect(rows[1].contains("data-signature=\"not-verified\"") && rows[1].contains("<strong>NOT VERIFIED</strong> unverified: the signature does not match"))
        #expect(rows[0].contains("data-signature=\"file-not-verified\"") && rows[0].contains("this result&#39;s own signature holds, but the file as a whole does not verify"))
        #expect(rows[2].contains("data-signature=\"file-not-verified\""))

        let unchecked = report(verdicts: nil).html(keys: KeyRing(), checkedAt: created)
        #expect(unchecked.contains("<h1>NOT VERIFIED</h1>\n<p>This file was not checked; nothing on this page can be trusted.</p>"))
    }
}
