import CafeCore
import CafeCrypto
import CafeNode
import CafeWire
import Glibc
import Testing

/// Relays, hierarchical delivery, store-and-forward and the drop-box, with real nodes on 127.0.0.1.
@Suite("across the network (loopback)", .serialized)
struct AcrossNetworkTests {
    /// origin knows gateway directly and leaf1, leaf2 only through it; the leaves know the
    /// origin only through the gateway.
    func relayMesh(gatewayTrust: String = "origin: {requests: [], relay: true}") throws -> MeshFixture {
        let via = "via: gateway"
        let mesh = try MeshFixture(["origin", "gateway", "leaf1", "leaf2"], routes: [
            "origin": ["leaf1": via, "leaf2": via],
            "leaf1": ["origin": via, "leaf2": nil],
            "leaf2": ["origin": via, "leaf1": nil],
        ])
        try mesh.write("gateway", "trust.yaml", gatewayTrust + "\n")
        for leaf in ["leaf1", "leaf2"] {
            try mesh.write(leaf, "trust.yaml", "origin: {requests: [provision]}\n")
            try mesh.write(leaf, "commands.yaml", """
                provision:
                  - echo "$CAFE_NODE $CAFE_DATA_USER" >> \(mesh.directory.path)/\(leaf).ran
                  - ["sh", "-c", "grep '^pw: ' | tr a-z A-Z"]
                """)
        }
        try mesh.directory.write("provision.yaml", """
            name: provision
            requests:
              - name: provision
                data: {user: cranky, pw: plane}
                secrets: [pw]
            """)
        return mesh
    }

    func origin(_ mesh: MeshFixture, _ words: [String], _ rest: [String]) -> Run {
        cafe(words + ["--home", mesh.home("origin")] + rest, timeout: 120)
    }

    func text(_ path: String) throws -> String { String(decoding: try FileSystem.read(path, maxBytes: 16 << 20), as: UTF8.self) }

    @Test("a relayed request and its result: the origin never connects to the leaves")
    func relayed() throws {
        let mesh = try relayMesh()
        defer { mesh.cleanup() }
        try mesh.write("origin", "delivery.yaml", "provision:\n  - [leaf1, leaf2]\n")
        try mesh.startAll()
        let start = Monotonic.seconds()
        let run = origin(mesh, ["batch", "run"], ["--timeout", "30", mesh.directory.path + "/provision.yaml"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Monotonic.seconds() - start < 4, "the relay holds the first envelopes until its links are up")
        #expect(run.stderr.contains("PW: \"PLANE\""))
        #expect(origin(mesh, ["verify"], [run.lastLine]).status == 0)
        let links = mesh.log("origin").split(separator: "\n").filter { $0.contains("link up") }
        #expect(links.count == 1 && links[0].contains("peer=gateway"), "the origin's only link is to the gateway: \(links)")
        let gatewayFiles = allFiles(under: mesh.home("gateway")).filter { $0.1.contains("plane") }.map(\.0)
        #expect(gatewayFiles.isEmpty, "the relay cannot read the sealed secret: \(gatewayFiles)")
        #expect(try text(mesh.home("gateway") + "/log/audit.log").contains(" allow signer=origin action=relay"))
    }

    @Test("a relay whose trust.yaml does not allow the origin relays nothing, and says so")
    func relayDenied() throws {
        let mesh = try relayMesh(gatewayTrust: "origin: {requests: []}")
        defer { mesh.cleanup() }
        try mesh.write("origin", "delivery.yaml", "provision:\n  - [leaf1]\n")
        try mesh.startAll()
        let run = origin(mesh, ["batch", "run"], ["--timeout", "2", mesh.directory.path + "/provision.yaml"])
        #expect(run.status == 1)
        #expect(lineCount(mesh.directory.path + "/leaf1.ran") == 0)
        #expect(try text(run.lastLine).contains("state: no-answer"))
        #expect(mesh.log("gateway").contains("not relaying for origin"))
    }

    @Test("two-level fan-out: origin → gateway → two leaves, each leaf's result signed by the leaf and verified")
    func hierarchical() throws {
        let mesh = try relayMesh(gatewayTrust: "origin: {requests: [provision], relay: true}")
        defer { mesh.cleanup() }
        try mesh.write("origin", "delivery.yaml", "provision:\n  - [gateway]\n")
        try mesh.write("gateway", "delivery.yaml", "provision:\n  - [leaf1]\n  - [leaf2]\n")
        try mesh.write("gateway", "commands.yaml", "provision:\n  - echo gateway itself >> \(mesh.directory.path)/gateway.ran\n")
        try mesh.startAll()
        let run = origin(mesh, ["batch", "run"], ["--timeout", "30", mesh.directory.path + "/provision.yaml"])
        #expect(run.status == 0, "\(run.stderr)")
        for name in ["gateway", "leaf1", "leaf2"] { #expect(lineCount(mesh.directory.path + "/\(name).ran") == 1) }
        let verify = origin(mesh, ["verify"], [run.lastLine])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("PASS  provision[0] via gateway on leaf1: ok, signed by leaf1"))
        #expect(verify.stdout.contains("PASS  provision[0] via gateway on leaf2: ok, signed by leaf2"))
        #expect(run.stderr.contains("gateway/leaf1"), "the table shows the leaves under the gateway")
        // A leaf that fails makes its gateway fail, and the batch.
        try mesh.write("leaf2", "commands.yaml", "provision:\n  - echo failing >> \(mesh.directory.path)/leaf2.ran; exit 5\n")
        mesh.stop("leaf2")
        try mesh.start("leaf2")
        let failing = origin(mesh, ["batch", "run"], ["--timeout", "30", mesh.directory.path + "/provision.yaml"])
        #expect(failing.status == 1)
        #expect(try text(failing.lastLine).contains("below gateway: leaf2 failed"))
        #expect(origin(mesh, ["verify"], [failing.lastLine]).status == 0)
        for name in ["gateway", "leaf1", "leaf2"] { #expect(lineCount(mesh.directory.path + "/\(name).ran") == 2) }
        // rerun --failed: the plan first, then only leaf2 below the gateway runs again; the
        // gateway's own command and leaf1, which succeeded, do not.
        try mesh.write("leaf2", "commands.yaml", "provision:\n  - echo fixed >> \(mesh.directory.path)/leaf2.ran\n")
        mesh.stop("leaf2")
        try mesh.start("leaf2")
        let failedID = String(failing.lastLine.split(separator: "/").last!.dropLast(".yaml".count))
        let rerun = origin(mesh, ["rerun"], [failedID, "--failed", "--timeout", "30"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stderr.hasPrefix("rerun plan: provision on gateway (only leaf2)\n"), "\(rerun.stderr)")
        #expect(lineCount(mesh.directory.path + "/gateway.ran") == 2, "the gateway's own command succeeded before: not again")
        #expect(lineCount(mesh.directory.path + "/leaf1.ran") == 2, "leaf1 succeeded before: not again")
        #expect(lineCount(mesh.directory.path + "/leaf2.ran") == 3)
        #expect(origin(mesh, ["verify"], [rerun.lastLine]).status == 0)
    }

    @Test("a loop in delivery maps is detected and refused")
    func loop() throws {
        let mesh = try relayMesh(gatewayTrust: "origin: {requests: [provision], relay: true}")
        defer { mesh.cleanup() }
        try mesh.write("origin", "delivery.yaml", "provision:\n  - [gateway]\n")
        try mesh.write("gateway", "delivery.yaml", "provision:\n  - [leaf1]\n")
        // leaf1 sends it back to the gateway: a loop.
        try mesh.write("leaf1", "node.yaml", try text(mesh.home("leaf1") + "/config/node.yaml").replacing(
            "peers:\n", with: "peers:\n  leaf2: {via: gateway, key: \"\(mesh.keys["leaf2"]!)\"}\n"))
        try mesh.write("leaf1", "delivery.yaml", "provision:\n  - [gateway]\n")
        try mesh.write("leaf1", "trust.yaml", "origin: {requests: [provision], relay: true}\n")
        try mesh.startAll()
        let run = origin(mesh, ["batch", "run"], ["--timeout", "20", mesh.directory.path + "/provision.yaml"])
        #expect(run.status == 1)
        #expect(try text(run.lastLine).contains("delivery loop"))
    }

    @Test("the cause is on screen: an origin without a delivery entry, and a gateway without one, each name the file to change")
    func causeOnScreen() throws {
        let mesh = try relayMesh()
        defer { mesh.cleanup() }
        try mesh.start("origin")
        try mesh.start("gateway")
        // No entry at the origin: the progress line and the table say which file lacks what.
        let missing = origin(mesh, ["batch", "run"], ["--timeout", "20", mesh.directory.path + "/provision.yaml"])
        #expect(missing.status == 1)
        let file = mesh.home("origin") + "/config/delivery.yaml"
        #expect(missing.stderr.contains("[0] provision: failed — origin has no entry 'provision' in \(file)"), "\(missing.stderr)")
        #expect(missing.stderr.split(separator: "\n").contains { $0.hasPrefix("provision  -      failed") && $0.contains("has no entry 'provision'") }, "\(missing.stderr)")
        // The gateway may relay but has no entry to fan the request out: its delivery.yaml is named, not trust.yaml alone.
        try mesh.write("origin", "delivery.yaml", "provision:\n  - [gateway]\n")
        #expect(origin(mesh, ["reload"], []).status == 0)
        let denied = origin(mesh, ["batch", "run"], ["--timeout", "20", mesh.directory.path + "/provision.yaml"])
        #expect(denied.status == 1)
        #expect(denied.stderr.contains("gateway may fan requests out for origin but has no entry 'provision' in \(mesh.home("gateway"))/config/delivery.yaml"), "\(denied.stderr)")
    }

    @Test("an expired request is never run, even when its host comes back")
    func expiredNeverRuns() throws {
        let mesh = try relayMesh()
        defer { mesh.cleanup() }
        try mesh.write("origin", "delivery.yaml", "provision:\n  - [gateway]\n")
        try mesh.write("gateway", "trust.yaml", "origin: {requests: [provision]}\n")
        let ran = mesh.directory.path + "/gateway.ran"
        try mesh.write("gateway", "commands.yaml", "provision:\n  - echo $CAFE_BATCH >> \(ran)\n")
        try mesh.start("origin")
        try mesh.directory.write("short.yaml", "name: short\nexpires-in: 2\nrequests:\n  - name: provision\n")
        let id = origin(mesh, ["batch", "deliver"], [mesh.directory.path + "/short.yaml"]).lastLine
        try mesh.waitUntil("the batch ends with the request expired", timeout: 20) {
            FileSystem.exists(mesh.home("origin") + "/batches/error/\(id).yaml")
        }
        try mesh.start("gateway")
        // A later batch to the gateway goes through the same outbox (oldest first) and link:
        // once it has run and come home, anything the origin still held for the gateway has
        // been sent and answered, so the expired request had its chance to run and did not.
        let later = origin(mesh, ["batch", "run"], ["--timeout", "30", mesh.directory.path + "/provision.yaml"])
        #expect(later.status == 0, "\(later.stderr)")
        #expect(lineCount(ran) == 1, "only the later batch ran on the gateway")
        #expect(!(try text(ran)).contains(id), "the expired request never ran")
        #expect(try text(mesh.home("origin") + "/batches/error/\(id).yaml").contains("state: expired"))
    }

    @Test("drop-box: complete files are taken; partial, oversized, hostile and symlinked ones are not, and nothing else is deleted")
    func dropboxFiles() throws {
        let mesh = try MeshFixture(["origin", "host"])
        defer { mesh.cleanup() }
        try mesh.write("host", "trust.yaml", "origin: {requests: [provision]}\n")
        try mesh.write("host", "commands.yaml", "provision:\n  - echo ran >> \(mesh.directory.path)/host.ran\n")
        try mesh.start("host")
        let dropbox = mesh.home("host") + "/dropbox"
        let originKey = try KeyFiles.loadPrivateKey(from: NodeHome(mesh.home("origin")), name: "origin")
        let now = SystemClock().now()
        let request = Envelope.seal(
            header: EnvelopeHeader(kind: .request, id: "dropbox-request-1", origin: "origin", sender: "origin", target: "host", created: now, expires: now.adding(seconds: 600)),
            body: .request(RequestBody(batch: "20261129-153012-000-00000000cccc", batchName: "db", index: 0, request: "provision")), key: originKey)
        let hostKey = try PublicKey(text: mesh.keys["host"]!)
        let sealed = try DropboxFile.seal(request.bytes, to: hostKey)
        try FileSystem.writeAtomically(Array(sealed.prefix(40)), to: dropbox + "/.incoming.part")
        try FileSystem.writeAtomically(Array("a: &a [1]\nb: *a\n".utf8), to: dropbox + "/bomb.env")
        try FileSystem.writeAtomically([UInt8](repeating: 65, count: EnvelopeLimits.maxBytes + 1), to: dropbox + "/huge.env")
        symlink("/etc/passwd", dropbox + "/link.env")
        try FileSystem.writeAtomically(Array("notes".utf8), to: dropbox + "/README.txt")
        try FileSystem.writeAtomically(request.bytes, to: dropbox + "/plain.env")
        try FileSystem.writeAtomically(try DropboxFile.seal(request.bytes, to: originKey.publicKey), to: dropbox + "/other.env")
        try FileSystem.writeAtomically(sealed, to: dropbox + "/first.env")
        try FileSystem.writeAtomically(sealed, to: dropbox + "/again.env")
        try mesh.waitUntil("the host ran the dropped request", timeout: 20) { lineCount(mesh.directory.path + "/host.ran") == 1 }
        try mesh.waitUntil("the drop-box is sorted", timeout: 20) {
            Set(try FileSystem.list(dropbox)) == [".incoming.part", "README.txt"]
        }
        // The second copy is recognised when it is read, before it could be stored or run.
        try mesh.waitUntil("the host answered the second copy from its spool", timeout: 10) {
            mesh.log("host").contains("duplicate request answered from the spool")
        }
        #expect(lineCount(mesh.directory.path + "/host.ran") == 1, "a file renamed into place twice runs once")
        let quarantined = try FileSystem.list(mesh.home("host") + "/spool/quarantine")
        for name in ["bomb.env", "huge.env", "link.env", "plain.env", "other.env"] {
            #expect(quarantined.contains(name) && quarantined.contains(name + ".reason"), "\(name) is quarantined with its reason")
        }
        #expect(mesh.log("host").contains("'README.txt' is not a name this node takes; left alone"))
        #expect(FileSystem.exists("/etc/passwd"), "nothing outside the home is touched")
        #expect(mesh.log("host").contains("is not a sealed drop-box file"), "a plain envelope is refused")
        #expect(mesh.log("host").contains("was not sealed to this node's key"), "one sealed to another node is refused")
    }
}
