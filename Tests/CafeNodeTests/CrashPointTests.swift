import CafeCore
import Glibc
import Testing

/// `kill -9` between any two writes to disk: a node started with
/// `CAFE_NODE_CRASH_BEFORE_WRITE=K` kills itself just before its K-th write; it is started again
/// without it, and whatever K was, no accepted batch is lost and no request runs twice.
@Suite("a crash before every write", .serialized)
struct CrashPointTests {
    /// jlore asks monk1 to run `ping`, which appends the batch's id to a file once per run.
    func mesh() throws -> MeshFixture {
        let mesh = try MeshFixture(["jlore", "monk1"])
        try mesh.write("jlore", "delivery.yaml", "ping:\n  - [monk1]\n")
        try mesh.write("monk1", "commands.yaml", "ping:\n  - echo $CAFE_BATCH >> \(mesh.directory.path)/ran\n")
        try mesh.write("monk1", "trust.yaml", "jlore: {requests: [ping]}\n")
        try mesh.directory.write("ping.yaml", "name: ping\nrequests:\n  - name: ping\n")
        return mesh
    }

    /// The ids of jlore's batches in `folder`.
    func batches(_ mesh: MeshFixture, _ folder: String) -> [String] {
        ((try? FileSystem.list(mesh.home("jlore") + "/batches/" + folder)) ?? []).filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }
    }

    /// Crashes `victim` before its K-th write for K = 1, 2, … while jlore delivers one batch to
    /// monk1, until a batch passes with no crash; returns how many write points were crossed.
    func crashAtEveryWrite(_ victim: String) throws -> Int {
        let mesh = try mesh()
        defer { mesh.cleanup() }
        for name in mesh.names where name != victim { try mesh.start(name) }
        var points = 0
        for k in 1...60 {
            var crashed = false
            do {
                try mesh.start(victim, environment: ["CAFE_NODE_CRASH_BEFORE_WRITE=\(k)"])
            } catch {
                #expect(!mesh.isRunning(victim), "\(victim) failed to start without crashing: \(error)")
                crashed = true
                try mesh.start(victim)
            }
            let deliver = cafe(["batch", "deliver", "--home", mesh.home("jlore"), mesh.directory.path + "/ping.yaml"], timeout: 60)
            let ended = { (batches(mesh, "done") + batches(mesh, "error")).contains(deliver.lastLine) }
            try mesh.waitUntil("the batch of round \(k) ended or \(victim) crashed", timeout: 30) {
                !mesh.isRunning(victim) || deliver.status == 0 && ended()
            }
            if !mesh.isRunning(victim) {
                crashed = true
                try mesh.start(victim)
            }
            try mesh.waitUntil("every batch of round \(k) ended after \(victim) restarted", timeout: 60) {
                (batches(mesh, "queue") + batches(mesh, "running")).isEmpty
            }
            if deliver.status != 0 {
                // The crash came before jlore answered cafe: the batch either never started (its
                // original is quarantined) or ran to its end all the same.
                #expect(deliver.stderr.contains("cafe-node"), "round \(k): \(deliver.stderr)")
            } else if !ended() {
                Issue.record("round \(k): the accepted batch \(deliver.lastLine) was lost")
            }
            if !crashed {
                points = k - 1
                break
            }
            mesh.stop(victim)
        }
        // No batch ran twice; every batch that ended done ran once, every one in error/ was
        // interrupted by the host's crash while it ran; each verifies.
        let ran = String(decoding: (try? FileSystem.read(mesh.directory.path + "/ran", maxBytes: 1 << 20)) ?? [], as: UTF8.self)
            .split(separator: "\n").map(String.init)
        #expect(Set(ran).count == ran.count, "a request ran twice: \(ran)")
        for id in batches(mesh, "done") + batches(mesh, "error") {
            if batches(mesh, "done").contains(id) {
                #expect(ran.contains(id), "\(id) is done but never ran")
            } else {
                let text = String(decoding: try FileSystem.read(mesh.home("jlore") + "/batches/error/\(id).yaml", maxBytes: 1 << 20), as: UTF8.self)
                #expect(victim == "monk1" && text.contains("interrupted: cafe-node on monk1 stopped while this request ran"), "\(id) failed:\n\(text)")
            }
            let verify = cafe(["verify", "--home", mesh.home("jlore"), id])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        }
        return points
    }

    @Test("the host: killed before any of its writes, it still runs each request once and its origin gets every result")
    func host() throws {
        let points = try crashAtEveryWrite("monk1")
        #expect(points >= 3, "monk1 makes at least three writes for a request (stored, result, acknowledged): \(points)")
    }

    @Test("the origin: killed before any of its writes, each batch it accepted still ends done, its request run once")
    func origin() throws {
        let points = try crashAtEveryWrite("jlore")
        #expect(points >= 5, "jlore makes at least five writes for a batch: \(points)")
    }
}
