import CafeCore
import CafeTestSupport
import Testing

/// `cafe show --html`: pages of real batches, loaded in a real headless browser (Debian's
/// `chromium`, installed by scripts/install-deps.sh; without it the browser test is reported as
/// skipped, with the reason). `--dump-dom` prints the DOM after the page's script ran.
@Suite("cafe show --html in a browser", .serialized)
struct ShowHTMLTests {
    /// A host row of a rendered page: its attributes and its cells' text.
    struct HostRow {
        var host: String
        var state: String
        var signature: String
        var hidden: Bool
        var html: Substring
    }

    /// The DOM of `page` opened with `fragment`, after its script ran.
    func rendered(_ page: String, fragment: String = "", profile: String) throws -> String {
        let outcome = POSIXSpawner().runBlocking(ProcessInvocation(
            arguments: [
                "/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile,
                "--dump-dom", "file://" + page + fragment,
            ],
            environment: ["PATH=/usr/bin:/bin", "HOME=" + profile], timeout: 60, outputCap: 16 << 20))
        guard outcome.termination == .exited(0), outcome.stdout.displayText.contains("</html>") else {
            throw EnvironmentError("chromium could not render \(page): \(outcome.termination) \(outcome.stderr.displayText)")
        }
        return outcome.stdout.displayText
    }

    /// Every `<tr class="host" …>` of `dom`, keyed by the host it names.
    func hostRows(_ dom: String) -> [String: HostRow] {
        var rows: [String: HostRow] = [:]
        for match in dom.matches(of: /<tr class="host"([^>]*)>(.*?)<\/tr>/.dotMatchesNewlines()) {
            var attributes: [String: String] = [:]
            for attribute in match.output.1.matches(of: /\s([a-z-]+)="([^"]*)"/) {
                attributes[String(attribute.output.1)] = String(attribute.output.2)
            }
            let host = match.output.2.firstMatch(of: /<a href="#output-[0-9-]+">([^<]*)<\/a>/).map { String($0.output.1) } ?? "?"
            rows[host] = HostRow(
                host: host, state: attributes["data-state"] ?? "?", signature: attributes["data-signature"] ?? "?",
                hidden: attributes["hidden"] != nil, html: match.output.2)
        }
        return rows
    }

    @Test(
        "the page of a real batch in chromium: rows and states, outputs as inert text, verified; the filter script; a forged file NOT VERIFIED",
        .enabled(if: Prerequisites.chromium.available, Comment(rawValue: "SKIPPED: " + Prerequisites.chromium.reason)))
    func inChromium() throws {
        let mesh = try MeshFixture(["jlore", "monk1", "cluster1"])
        defer { mesh.cleanup() }
        try mesh.write("jlore", "delivery.yaml", "report:\n  - [jlore, monk1]\n  - [cluster1]\n")
        for name in mesh.names { try mesh.write(name, "trust.yaml", "jlore: {requests: [report]}\n") }
        // Output that would run script, retitle the page or a terminal, were it not escaped.
        try mesh.write("jlore", "commands.yaml", """
            report:
              - printf '<script>document.title="owned"</script> & "quoted" \\033]0;evil\\007\\n'
            """)
        try mesh.write("monk1", "commands.yaml", "report:\n  - echo \"disk full on $CAFE_NODE\" >&2; exit 3\n")
        try mesh.write("cluster1", "commands.yaml", "report:\n  - \"true\"\n")
        try mesh.startAll()
        try mesh.directory.write("report.yaml", "name: report\nrequests:\n  - name: report\n")
        let home = mesh.home("jlore")
        let ran = cafe(["batch", "run", "--home", home, "--timeout", "20", mesh.directory.path + "/report.yaml"])
        #expect(ran.status == 1 && ran.lastLine.hasPrefix(home + "/batches/error/"), "monk1 failed: \(ran.stderr)")
        let profile = mesh.directory.path + "/chromium"

        let page = mesh.directory.path + "/page.html"
        let show = cafe(["show", "--home", home, ran.lastLine, "--html", page])
        #expect(show.status == 0 && show.stdout == page + "\n", "\(show.stdout) \(show.stderr)")
        let dom = try rendered(page, profile: profile)
        #expect(dom.contains("<section id=\"verification\" class=\"banner verified\" data-verified=\"true\">\n<h1>verified</h1>"))
        #expect(dom.contains("<td>report[0] on monk1</td><td class=\"pass\">PASS</td>"), "every signature's verdict")
        var rows = hostRows(dom)
        #expect(rows.mapValues { [$0.state, $0.signature] } == [
            "jlore": ["ok", "verified"], "monk1": ["failed", "verified"], "cluster1": ["skipped", "unsigned"],
        ])
        #expect(rows["jlore"]?.html.contains("<td>report</td><td>1</td>") == true && rows["cluster1"]?.html.contains("<td>report</td><td>2</td>") == true)
        #expect(dom.contains("<pre class=\"stderr\" title=\"stderr\">disk full on monk1\n</pre>"), "the output of a command, whole")
        #expect(dom.contains("<span class=\"outcome\">exit 3</span>"))
        // The output is text in the DOM, the injected script never ran, the terminal escape is shown.
        #expect(dom.contains("&lt;script&gt;document.title=\"owned\"&lt;/script&gt; &amp; \"quoted\" \\u{1B}]0;evil\\u{7}"))
        #expect(dom.contains("<title>cafe batch report (") && dom.components(separatedBy: "<script").count == 2)
        #expect(dom.contains("<span class=\"label\">report · group 1 (jlore,monk1)</span><span class=\"track\"><span class=\"bar\""), "group 1 ran")
        #expect(dom.contains("report · group 2 (cluster1)</span><span class=\"track\"></span><span class=\"when\">no command ran</span>"))
        #expect(dom.contains("<p id=\"shown\" data-total=\"3\">showing all 3 host rows</p>"), "the script ran")
        #expect(rows.values.allSatisfy { !$0.hidden })

        // The filter: the fragment the state buttons set shows the failed hosts only, outputs too.
        let failed = try rendered(page, fragment: "#state=failed", profile: profile)
        rows = hostRows(failed)
        #expect(rows.filter { !$0.value.hidden }.map(\.key) == ["monk1"], "\(rows.mapValues(\.hidden))")
        #expect(failed.contains("<p id=\"shown\" data-total=\"3\">showing 1 of 3 host rows: failed</p>"))
        #expect(failed.contains("<button type=\"button\" data-filter=\"failed\" aria-pressed=\"true\">failed (1)</button>"))
        #expect(failed.contains("<article class=\"host\" id=\"output-0-0\" data-state=\"ok\" data-signature=\"verified\" hidden=\"\">"))
        #expect(failed.contains("<article class=\"host\" id=\"output-0-1\" data-state=\"failed\" data-signature=\"verified\">"))

        // Forged: monk1's output rewritten inside its signed result, jlore's state in the origin's copy.
        let original = String(decoding: try FileSystem.read(ran.lastLine, maxBytes: 1 << 20), as: UTF8.self)
        let forgedText = original.replacing("disk full on monk1", with: "all fine on monk1")
            .replacing("- host: jlore\n        state: ok", with: "- host: jlore\n        state: failed")
        #expect(forgedText != original && forgedText.contains("state: failed\n        result: |"))
        try mesh.directory.write("forged.yaml", forgedText)
        let forgedPage = mesh.directory.path + "/forged.html"
        let forgedShow = cafe(["show", "--home", home, mesh.directory.path + "/forged.yaml", "--html", forgedPage])
        #expect(forgedShow.status == 1 && forgedShow.stderr.contains("NOT VERIFIED"), "\(forgedShow.stderr)")
        let forged = try rendered(forgedPage, profile: profile)
        #expect(forged.contains("<section id=\"verification\" class=\"banner not-verified\" data-verified=\"false\">\n<h1>NOT VERIFIED</h1>"))
        #expect(forged.contains("<td>batch file</td><td class=\"fail\">FAIL</td>"))
        rows = hostRows(forged)
        #expect(rows["monk1"]?.signature == "not-verified" && rows["monk1"]?.html.contains("<strong>NOT VERIFIED</strong> unverified: ") == true,
                "\(rows["monk1"]?.html ?? "no monk1 row")")
        #expect(rows["jlore"]?.state == "ok", "the signed state, not the origin's copy")
        #expect(rows["jlore"]?.html.contains("the file says 'failed', the signed result 'ok'") == true, "\(rows["jlore"]?.html ?? "no jlore row")")
        #expect(rows["cluster1"]?.signature == "file-not-verified")
    }

    @Test("cafe show --html refuses --json and --group, and names a path it cannot write; exit 2")
    func refusals() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let home = directory.path + "/jlore"
        #expect(cafe(["init", "--home", home, "--name", "jlore"]).status == 0)
        try directory.write("jlore/config/commands.yaml", "report:\n  - \"true\"\n")
        try directory.write("report.yaml", "name: report\nrequests:\n  - name: report\n")
        let ran = cafe(["batch", "run", "--local", "--home", home, directory.path + "/report.yaml"])
        #expect(ran.status == 0, "\(ran.stderr)")
        for other in ["--json", "--group"] {
            let both = cafe(["show", "--home", home, ran.lastLine, "--html", directory.path + "/page.html", other])
            #expect(both.status == 2 && both.stderr.contains("--html writes a page instead of printing"), "\(both.stderr)")
        }
        let unwritable = directory.path + "/missing/page.html"
        let show = cafe(["show", "--home", home, ran.lastLine, "--html", unwritable])
        #expect(show.status == 2 && show.stderr.contains("cannot write the HTML page to \(unwritable) ("), "\(show.stderr)")
        #expect(!FileSystem.exists(directory.path + "/page.html"))
    }
}
