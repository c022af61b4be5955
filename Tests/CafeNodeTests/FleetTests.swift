import CafeCore
import CafeCrypto
import CafeNode
import CafeWire
import Glibc
import Testing

/// Fleet certificates, key rotation, expiry and revocation end to end: real `cafe` commands
/// and real `cafe-node` processes on 127.0.0.1.
@Suite("fleet certificates and key lifecycle (loopback)", .serialized)
struct FleetTests {
    func text(_ path: String) throws -> String { String(decoding: try FileSystem.read(path, maxBytes: 16 << 20), as: UTF8.self) }

    /// A fleet `acme` made with `cafe fleet init` in the mesh's directory; returns its public key.
    func makeFleet(_ mesh: MeshFixture) throws -> String {
        let made = cafe(["fleet", "init", "--out", fleetDirectory(mesh), "--name", "acme"])
        #expect(made.status == 0, "\(made.stderr)")
        let parts = made.stdout.split(separator: " ")
        #expect(parts.first == "acme")
        return String(parts[1].dropLast())
    }

    func fleetDirectory(_ mesh: MeshFixture) -> String { mesh.directory.path + "/fleet" }

    /// Certifies `name`'s key with `tags` (plus `extra` options) and installs it as keys/node.cert.
    @discardableResult
    func certify(_ mesh: MeshFixture, _ name: String, tags: [String], extra: [String] = []) throws -> Int {
        let signed = cafe(
            ["fleet", "sign", "--fleet-key", fleetDirectory(mesh) + "/fleet.key", "--name", name, "--key", mesh.keys[name]!]
                + tags.flatMap { ["--tag", $0] } + extra)
        #expect(signed.status == 0, "\(signed.stderr)")
        try FileSystem.writeAtomically(Array(signed.stdout.utf8), to: mesh.home(name) + "/keys/node.cert", mode: 0o644)
        return try NodeCertificate(bytes: Array(signed.stdout.utf8)).serial
    }

    /// `name`'s node.yaml with key-less peers (`peers`, each by address) and the fleet.
    func keylessConfig(_ mesh: MeshFixture, _ name: String, peers: [String], fleet: String) throws {
        try mesh.write(name, "node.yaml", """
            name: \(name)
            listen: 127.0.0.1:\(mesh.ports[name]!)
            fleets:
              acme: "\(fleet)"
            peers:
            \(peers.map { "  \($0): {address: 127.0.0.1:\(mesh.ports[$0]!)}" }.joined(separator: "\n"))
            """)
    }

    func provisionBatch(_ mesh: MeshFixture) throws {
        try mesh.directory.write("provision.yaml", """
            name: provision
            requests:
              - name: provision
                data: {user: cranky, pw: plane}
                secrets: [pw]
            """)
    }

    func provisionCommands(_ mesh: MeshFixture, _ name: String) throws {
        try mesh.write(name, "commands.yaml", """
            provision:
              - echo "$CAFE_NODE $CAFE_DATA_USER" >> \(mesh.directory.path)/\(name).ran
              - ["sh", "-c", "grep '^pw: ' | tr a-z A-Z"]
            """)
    }

    @Test("a hierarchical batch to nodes no node.yaml lists a key for runs on tag: grants and verifies with only the fleet key")
    func hierarchicalByCertificate() throws {
        let mesh = try MeshFixture(["origin", "gateway", "leaf1", "leaf2"])
        defer { mesh.cleanup() }
        let fleet = try makeFleet(mesh)
        try certify(mesh, "origin", tags: ["ops"])
        for name in ["gateway", "leaf1", "leaf2"] { try certify(mesh, name, tags: ["web"]) }
        try keylessConfig(mesh, "origin", peers: ["gateway"], fleet: fleet)
        try keylessConfig(mesh, "gateway", peers: ["origin", "leaf1", "leaf2"], fleet: fleet)
        for leaf in ["leaf1", "leaf2"] {
            try keylessConfig(mesh, leaf, peers: ["gateway"], fleet: fleet)
            try mesh.write(leaf, "trust.yaml", "\"tag:ops\": {requests: [provision]}\n")
            try provisionCommands(mesh, leaf)
        }
        try mesh.write("gateway", "trust.yaml", "\"tag:ops\": {requests: [provision], relay: true}\n")
        try mesh.write("gateway", "delivery.yaml", "provision:\n  - [leaf1]\n  - [leaf2]\n")
        try mesh.write("origin", "delivery.yaml", "provision:\n  - [gateway]\n")
        try provisionBatch(mesh)
        for name in mesh.names { #expect(!(try text(mesh.home(name) + "/config/node.yaml")).contains("key:")) }
        #expect(cafe(["config", "check", "--home", mesh.home("gateway")]).status == 0)
        try mesh.startAll()
        let run = cafe(["batch", "run", "--home", mesh.home("origin"), "--timeout", "30", mesh.directory.path + "/provision.yaml"])
        #expect(run.status == 0, "\(run.stderr)\n\(mesh.log("origin"))")
        #expect(run.stderr.contains("PW: \"PLANE\""), "the secret was sealed to keys only certificates gave")
        for leaf in ["leaf1", "leaf2"] {
            #expect(lineCount(mesh.directory.path + "/\(leaf).ran") == 1)
            #expect(try text(mesh.home(leaf) + "/log/audit.log").contains("allow signer=origin tags=ops"))
        }
        #expect(mesh.log("origin").contains("gateway presented certificate acme #"))
        // Anyone with only the fleet key, years later, with no node home at all.
        let nowhere = mesh.directory.path + "/no-home"
        let verified = cafe(["verify", "--home", nowhere, "--fleet", fleet, run.lastLine])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.contains("PASS  provision[0] via gateway on leaf2: ok, signed by leaf2 (certificate acme #"))
        #expect(verified.stdout.contains("PASS  batch file: signed by origin origin (certificate acme #"))
        let shown = cafe(["show", "--home", nowhere, "--fleet", fleet, run.lastLine])
        #expect(shown.status == 0 && !shown.stdout.contains("NOT VERIFIED"), "\(shown.stdout)")
        let otherFleet = try SigningKey.generate().publicKey.text
        let wrong = cafe(["verify", "--home", nowhere, "--fleet", otherFleet, run.lastLine])
        #expect(wrong.status == 1 && wrong.stdout.contains("whose key is not in this node's fleets"), "\(wrong.stdout)")
        // A node certified without the ops tag is denied by the tag grant, and says why.
        try certify(mesh, "origin", tags: ["web"])
        mesh.stop("origin")
        try mesh.start("origin")
        let denied = cafe(["batch", "run", "--home", mesh.home("origin"), "--timeout", "30", mesh.directory.path + "/provision.yaml"])
        #expect(denied.status == 1)
        #expect(try text(mesh.home("gateway") + "/log/audit.log").contains("deny signer=origin tags=web"))
    }

    @Test("cafe key rotate: pinned peers follow the transition the old key signed; old and new files verify; a running node's key is never rotated")
    func rotation() throws {
        let mesh = try MeshFixture(["jlore", "monk1"])
        defer { mesh.cleanup() }
        try mesh.write("jlore", "delivery.yaml", "provision:\n  - [monk1]\n")
        try mesh.write("monk1", "trust.yaml", "jlore: {requests: [provision]}\n")
        try provisionCommands(mesh, "monk1")
        try provisionBatch(mesh)
        try mesh.startAll()
        let batch = mesh.directory.path + "/provision.yaml"
        let before = cafe(["batch", "run", "--home", mesh.home("jlore"), "--timeout", "30", batch])
        #expect(before.status == 0, "\(before.stderr)")
        let refused = cafe(["key", "rotate", "--home", mesh.home("jlore")])
        #expect(refused.status == 1 && refused.stderr.contains("already running"), "\(refused.stderr)")
        mesh.stop("jlore")
        let oldKey = mesh.keys["jlore"]!
        let rotated = cafe(["key", "rotate", "--home", mesh.home("jlore")])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        #expect(rotated.stdout.hasPrefix("jlore ed25519:") && !rotated.stdout.contains(oldKey))
        #expect(cafe(["key", "show", "--home", mesh.home("jlore")]).stdout == rotated.stdout)
        let history = try FileSystem.list(mesh.home("jlore") + "/keys/history")
        #expect(history.contains { $0.hasSuffix(".transition") } && history.contains { $0.hasSuffix(".key") }, "\(history)")
        try mesh.start("jlore")
        // monk1 still pins the old key in node.yaml: the transition moves it on.
        #expect(try text(mesh.home("monk1") + "/config/node.yaml").contains(oldKey))
        let after = cafe(["batch", "run", "--home", mesh.home("jlore"), "--timeout", "30", batch])
        #expect(after.status == 0, "\(after.stderr)\n\(mesh.log("monk1"))")
        #expect(mesh.log("monk1").contains("jlore rotated its key"))
        #expect(FileSystem.exists(mesh.home("monk1") + "/keys/peers/jlore.transitions"))
        // Files signed before and after the rotation verify, at the origin and at the host.
        for home in ["jlore", "monk1"] {
            for file in [before.lastLine, after.lastLine] {
                let verified = cafe(["verify", "--home", mesh.home(home), file])
                #expect(verified.status == 0, "\(home) \(file): \(verified.stdout)")
            }
        }
        // The learned key survives monk1's restart, and the old key no longer passes for jlore.
        mesh.stop("monk1")
        try mesh.start("monk1")
        #expect(cafe(["batch", "run", "--home", mesh.home("jlore"), "--timeout", "30", batch]).status == 0)
        #expect(lineCount(mesh.directory.path + "/monk1.ran") == 3)
    }

    @Test("a revoked certificate loses its links and its signatures from the revocation on; an expired one gets no link")
    func revocationAndExpiry() throws {
        let mesh = try MeshFixture(["jlore", "monk1"])
        defer { mesh.cleanup() }
        let fleet = try makeFleet(mesh)
        try certify(mesh, "jlore", tags: ["ops"])
        let serial = try certify(mesh, "monk1", tags: ["web"])
        try keylessConfig(mesh, "jlore", peers: ["monk1"], fleet: fleet)
        try keylessConfig(mesh, "monk1", peers: ["jlore"], fleet: fleet)
        try mesh.write("jlore", "delivery.yaml", "provision:\n  - [monk1]\n")
        try mesh.write("monk1", "trust.yaml", "\"tag:ops\": {requests: [provision]}\n")
        try provisionCommands(mesh, "monk1")
        try provisionBatch(mesh)
        try mesh.startAll()
        let batch = mesh.directory.path + "/provision.yaml"
        let good = cafe(["batch", "run", "--home", mesh.home("jlore"), "--timeout", "30", batch])
        #expect(good.status == 0, "\(good.stderr)\n\(mesh.log("jlore"))")

        // Revoked from now: jlore reloads the list, drops the link, and refuses monk1.
        let revoked = cafe(["fleet", "revoke", "--fleet-key", fleetDirectory(mesh) + "/fleet.key", "--serial", String(serial)])
        #expect(revoked.status == 0, "\(revoked.stderr)")
        let list = revoked.lastLine
        try FileSystem.writeAtomically(try FileSystem.read(list, maxBytes: 1 << 20), to: mesh.home("jlore") + "/config/revoked.yaml")
        #expect(cafe(["reload", "--home", mesh.home("jlore")]).status == 0)
        try mesh.waitUntil("jlore closes monk1's link", timeout: 10) { mesh.log("jlore").contains("closing the link of monk1") }
        let refused = cafe(["batch", "run", "--home", mesh.home("jlore"), "--timeout", "4", batch])
        #expect(refused.status == 1)
        #expect(mesh.log("jlore").contains("was revoked at"), "\(mesh.log("jlore"))")
        #expect(lineCount(mesh.directory.path + "/monk1.ran") == 1)
        // The file signed before the revocation still verifies with the list; one revoked
        // from before it was signed does not.
        let offline = ["verify", "--home", mesh.directory.path + "/no-home", "--fleet", fleet]
        #expect(cafe(offline + ["--revoked", list, good.lastLine]).status == 0)
        let early = cafe(["fleet", "revoke", "--fleet-key", fleetDirectory(mesh) + "/fleet.key", "--serial", String(serial),
                          "--at", "2020-01-01T00:00:00Z", "--list", mesh.directory.path + "/early.yaml"])
        #expect(early.status == 0, "\(early.stderr)")
        let failing = cafe(offline + ["--revoked", mesh.directory.path + "/early.yaml", good.lastLine])
        #expect(failing.status == 1 && failing.stdout.contains("was revoked at 2020-01-01"), "\(failing.stdout)")

        // Expired: a new certificate that ended long ago gets no link either.
        try FileSystem.remove(mesh.home("jlore") + "/config/revoked.yaml")
        #expect(cafe(["reload", "--home", mesh.home("jlore")]).status == 0)
        try certify(mesh, "monk1", tags: ["web"], extra: ["--not-before", "2020-01-01T00:00:00Z", "--not-after", "2020-02-01T00:00:00Z"])
        mesh.stop("monk1")
        try mesh.start("monk1")
        let expired = cafe(["batch", "run", "--home", mesh.home("jlore"), "--timeout", "4", batch])
        #expect(expired.status == 1)
        #expect(mesh.log("jlore").contains("expired at 2020-02-01"), "\(mesh.log("jlore"))")
        #expect(lineCount(mesh.directory.path + "/monk1.ran") == 1)
    }

    @Test("broken key material is refused with its file named: a certificate of another key, a revocation list the fleet did not sign")
    func brokenKeyMaterial() throws {
        let mesh = try MeshFixture(["jlore", "monk1"])
        defer { mesh.cleanup() }
        let fleet = try makeFleet(mesh)
        try keylessConfig(mesh, "jlore", peers: ["monk1"], fleet: fleet)
        #expect(cafe(["config", "check", "--home", mesh.home("jlore")]).status == 0)
        // monk1's certificate installed on jlore by mistake.
        let signed = cafe(["fleet", "sign", "--fleet-key", fleetDirectory(mesh) + "/fleet.key", "--name", "monk1", "--key", mesh.keys["monk1"]!])
        try FileSystem.writeAtomically(Array(signed.stdout.utf8), to: mesh.home("jlore") + "/keys/node.cert", mode: 0o644)
        let wrongCertificate = cafe(["config", "check", "--home", mesh.home("jlore")])
        #expect(wrongCertificate.status == 2)
        #expect(wrongCertificate.stdout.contains("keys/node.cert certifies monk1"), "\(wrongCertificate.stdout)")
        #expect(throws: (any Error).self) { try mesh.start("jlore") }
        #expect(mesh.log("jlore").contains("keys/node.cert certifies monk1"), "\(mesh.log("jlore"))")
        try FileSystem.remove(mesh.home("jlore") + "/keys/node.cert")
        // A revocation list signed by another key than the fleet's.
        let impostor = mesh.directory.path + "/impostor"
        #expect(cafe(["fleet", "init", "--out", impostor, "--name", "acme"]).status == 0)
        let list = cafe(["fleet", "revoke", "--fleet-key", impostor + "/fleet.key", "--serial", "1"])
        #expect(list.status == 0, "\(list.stderr)")
        try FileSystem.writeAtomically(try FileSystem.read(list.lastLine, maxBytes: 1 << 20), to: mesh.home("jlore") + "/config/revoked.yaml")
        let forged = cafe(["config", "check", "--home", mesh.home("jlore")])
        #expect(forged.status == 2)
        #expect(forged.stdout.contains("revoked.yaml: its signature does not hold for the key of fleet 'acme'"), "\(forged.stdout)")
        // Bad options say which.
        let badKey = cafe(["fleet", "sign", "--fleet-key", fleetDirectory(mesh) + "/fleet.key", "--name", "monk1", "--key", "ed25519:nope"])
        #expect(badKey.status == 2 && badKey.stderr.contains("--key 'ed25519:nope' is not"), "\(badKey.stderr)")
        #expect(cafe(["fleet", "init", "--out", fleetDirectory(mesh), "--name", "acme"]).status == 2, "never overwrites a fleet key")
    }
}
