import CafeCore
import Foundation
import Testing

/// The Prometheus endpoint, scraped and read with Prometheus's own Python parser
/// (`python3-prometheus-client`, installed by scripts/install-deps.sh).
@Suite("metrics endpoint", .serialized)
struct MetricsTests {
    /// Every sample at `url` as (name, labels, value), parsed by prometheus_client, or the
    /// parser's error.
    func scrape(_ url: String) throws -> [(name: String, labels: [String: String], value: Double)] {
        let script = """
            import json, sys, urllib.request
            from prometheus_client.parser import text_string_to_metric_families
            text = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
            print(json.dumps([[s.name, s.labels, s.value] for f in text_string_to_metric_families(text) for s in f.samples]))
            """
        let outcome = POSIXSpawner().runBlocking(ProcessInvocation(
            arguments: ["/usr/bin/python3", "-c", script, url], environment: ["PATH=/usr/bin:/bin"], timeout: 30, outputCap: 1 << 22))
        guard outcome.termination == .exited(0) else { throw EnvironmentError("scraping \(url) failed: \(outcome.stderr.displayText)") }
        let rows = try JSONSerialization.jsonObject(with: Data(outcome.stdout.bytes)) as? [[Any]] ?? []
        return rows.compactMap { row in
            guard row.count == 3, let name = row[0] as? String, let labels = row[1] as? [String: String], let value = row[2] as? Double else { return nil }
            return (name, labels, value)
        }
    }

    @Test("metrics: HOST:PORT serves batches, requests, command durations, the outbox, links, refusals and sync latency")
    func scraped() throws {
        let mesh = try MeshFixture(["jlore", "monk1"])
        defer { mesh.cleanup() }
        var ports: [String: Int] = [:]
        for name in mesh.names {
            ports[name] = try MeshFixture.freePort()
            let path = mesh.home(name) + "/config/node.yaml"
            let text = String(decoding: try FileSystem.read(path, maxBytes: 1 << 20), as: UTF8.self)
            try FileSystem.writeAtomically(Array((text + "\nmetrics: 127.0.0.1:\(ports[name]!)\n").utf8), to: path)
        }
        try mesh.write("jlore", "delivery.yaml", "ping:\n  - [monk1]\n")
        try mesh.write("monk1", "commands.yaml", "ping:\n  - [\"true\"]\n")
        try mesh.write("monk1", "trust.yaml", "jlore: {requests: [ping]}\n")
        try mesh.startAll()
        try mesh.directory.write("ping.yaml", "name: ping\nrequests:\n  - name: ping\n")
        let run = cafe(["batch", "run", "--home", mesh.home("jlore"), "--timeout", "20", mesh.directory.path + "/ping.yaml"])
        #expect(run.status == 0, "\(run.stderr)")
        var origin: [(name: String, labels: [String: String], value: Double)] = []
        func value(_ samples: [(name: String, labels: [String: String], value: Double)], _ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }?.value
        }
        // The gauges are set once a second: they must come to the batch's end (one link up, no
        // batch running, an empty outbox) within a few of those.
        try mesh.waitUntil("jlore's gauges show the batch ended, its outbox empty and one link up", timeout: 10) {
            origin = try scrape("http://127.0.0.1:\(ports["jlore"]!)/metrics")
            return value(origin, "cafe_links_up") == 1 && value(origin, "cafe_batches_running") == 0 && value(origin, "cafe_outbox_envelopes") == 0
        }
        #expect(value(origin, "cafe_batches_finished_total", ["state": "done"]) == 1)
        #expect((value(origin, "cafe_envelopes_received_total") ?? 0) >= 2, "the result and an ack")
        #expect((value(origin, "cafe_sync_duration_seconds_count", ["what": "journal"]) ?? 0) >= 1)
        #expect((value(origin, "cafe_sync_duration_seconds_count", ["what": "log"]) ?? 0) >= 1, "the request stored in the outbox")
        let host = try scrape("http://127.0.0.1:\(ports["monk1"]!)/metrics")
        #expect(value(host, "cafe_requests_run_total", ["state": "ok"]) == 1)
        #expect(value(host, "cafe_command_duration_seconds_count") == 1)
        #expect(
            value(host, "cafe_sync_duration_seconds_count", ["what": "log"]) == 2 
                && value(host, "cafe_sync_duration_seconds_count", ["what": "journal"]) == nil && value(host, "cafe_sync_duration_seconds_count", ["what": "seen"]) == nil,
            "two synced writes for the request: stored, audited and marked running in one, then the result")
        // Anything but /metrics is 404.
        #expect(throws: (any Error).self) { try scrape("http://127.0.0.1:\(ports["jlore"]!)/other") }
        // A request that does not keep the connection alive (HTTP/1.0 here) gets its answer and
        // then the end of the stream: a client that reads to the end is not left waiting.
        let readToEnd = """
            import socket, sys
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
            s.sendall(b"GET /metrics HTTP/1.0\\r\\n\\r\\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            print(data.split(b"\\r\\n", 1)[0].decode())
            """
        let oneShot = POSIXSpawner().runBlocking(ProcessInvocation(
            arguments: ["/usr/bin/python3", "-c", readToEnd, String(ports["monk1"]!)], environment: ["PATH=/usr/bin:/bin"], timeout: 30,
            outputCap: 1 << 16))
        #expect(oneShot.termination == .exited(0) && oneShot.stdout.text == "HTTP/1.0 200 OK\n", "\(oneShot.termination): \(oneShot.stderr.displayText)")
    }
}
