import CafeCore
import CafeTestSupport
import Glibc
import Testing

/// The README's tour, run as written, so that the first thing a newcomer types keeps working.
@Suite("the README tour", .serialized)
struct ReadmeTourTests {
    @Test("the two-node tour in README.md runs as written: every command succeeds and b runs the command")
    func tour() throws {
        let readme = try #require(Binaries.repository, "README.md next to Package.swift") + "/README.md"
        let text = String(decoding: try FileSystem.read(readme, maxBytes: 1 << 20), as: UTF8.self)
        let block = try #require(Self.tourBlock(text), "a ```sh block between <!-- tour:begin --> and <!-- tour:end -->")
        #expect(block.contains("cafe peer add") && block.contains("cafe-node"))
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        try directory.write("tour.sh", "set -euo pipefail\ntrap 'kill %1 %2 2>/dev/null || true' EXIT\n" + block + "\n")
        let outcome = POSIXSpawner().runBlocking(ProcessInvocation(
            arguments: ["/bin/bash", directory.path + "/tour.sh"],
            environment: ["PATH=\(Binaries.directory):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent-home", "TMPDIR=\(directory.path)"],
            timeout: 120, outputCap: 4 << 20))
        let stdout = outcome.stdout.displayText, stderr = outcome.stderr.displayText
        #expect(outcome.termination == .exited(0), "\(stdout)\n\(stderr)")
        #expect(stderr.contains("[0] adhoc on b: ok"), "\(stderr)")
        #expect(stdout.contains("verified: all"), "\(stdout)")
    }


    /// The shell lines of the fenced block between the tour markers.
    static func tourBlock(_ readme: String) -> String? {
        guard let begin = readme.firstRange(of: "<!-- tour:begin -->"), let end = readme.firstRange(of: "<!-- tour:end -->") else { return nil }
        let lines = readme[begin.upperBound..<end.lowerBound].split(separator: "\n").map(String.init)
        let body = lines.filter { !$0.hasPrefix("```") }
        return body.isEmpty ? nil : body.joined(separator: "\n")
    }
}
