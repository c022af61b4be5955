import CafeCore
import CafeNode
import Glibc
import CafeTestSupport
import Testing

/// Transports and topologies that need real system pieces: an OpenSSH server for the drop-box,
/// network namespaces for a two-site network where "cannot reach" is real. Without root (or
/// without the tools) these tests are reported as skipped, with the reason, and the loopback
/// variants in AcrossNetworkTests still run.
@Suite("real drop-box and real sites", .serialized)
struct RealNetworkTests {
    @Test(
        "a batch entirely over the drop-box, against a real sshd",
        .enabled(if: Prerequisites.openssh.available, Comment(rawValue: "SKIPPED: " + Prerequisites.openssh.reason)))
    func dropboxOverSSH() throws {
        let directory = TemporaryDirectory("cafe-sshd")
        defer { directory.cleanup() }
        let sshd = try ThrowawaySSHD(directory: directory.path + "/sshd")
        defer { sshd.stop() }
        let mesh = try MeshFixture(["origin", "far"], routes: [:])
        defer { mesh.cleanup() }
        try mesh.rewritePeer("origin", peer: "far", route: sshd.peerRoute(dropbox: mesh.home("far") + "/dropbox"))
        try mesh.rewritePeer("far", peer: "origin", route: sshd.peerRoute(dropbox: mesh.home("origin") + "/dropbox"))
        try mesh.write("origin", "delivery.yaml", "provision:\n  - [far]\n")
        try mesh.write("far", "trust.yaml", "origin: {requests: [provision]}\n")
        try mesh.write("far", "commands.yaml", "provision:\n  - echo far ran >> \(mesh.directory.path)/far.ran\n")
        try mesh.startAll()
        try mesh.directory.write("b.yaml", "name: b\nrequests:\n  - name: provision\n    data: {pw: secret-one}\n    secrets: [pw]\n")
        let run = cafe(["batch", "run", "--home", mesh.home("origin"), "--timeout", "60", mesh.directory.path + "/b.yaml"], timeout: 120)
        #expect(run.status == 0, "\(run.stderr)\n\(mesh.log("origin"))\n\(mesh.log("far"))")
        #expect(lineCount(mesh.directory.path + "/far.ran") == 1)
        #expect(cafe(["verify", "--home", mesh.home("origin"), run.lastLine]).status == 0)
        #expect(!mesh.log("origin").contains("link up"), "no TCP link: everything went through the drop-boxes")
        #expect(try FileSystem.list(mesh.home("far") + "/dropbox").filter { !$0.hasPrefix(".") }.isEmpty)
    }

    @Test(
        "two sites in network namespaces: site B is reachable only through the gateway",
        .enabled(if: Prerequisites.netns.available, Comment(rawValue: "SKIPPED: " + Prerequisites.netns.reason)))
    func twoSites() throws {
        let sites = try TwoSites()
        defer { sites.tearDown() }
        let via = "via: gateway"
        let mesh = try MeshFixture(["origin", "gateway", "leaf1", "leaf2"], routes: [
            "origin": ["gateway": "address: \(sites.gatewayA):PORT(gateway)", "leaf1": via, "leaf2": via],
            "gateway": ["origin": "address: \(sites.origin):PORT(origin)", "leaf1": "address: \(sites.siteB):PORT(leaf1)", "leaf2": "address: \(sites.siteB):PORT(leaf2)"],
            "leaf1": ["origin": via, "gateway": "address: \(sites.gatewayB):PORT(gateway)", "leaf2": nil],
            "leaf2": ["origin": via, "gateway": "address: \(sites.gatewayB):PORT(gateway)", "leaf1": nil],
        ], listen: ["origin": sites.origin, "gateway": "0.0.0.0", "leaf1": sites.siteB, "leaf2": sites.siteB])
        defer { mesh.cleanup() }
        try mesh.write("gateway", "trust.yaml", "origin: {requests: [provision], relay: true}\n")
        for leaf in ["leaf1", "leaf2"] {
            try mesh.write(leaf, "trust.yaml", "origin: {requests: [provision, direct]}\n")
            try mesh.write(leaf, "commands.yaml", "provision:\n  - echo $CAFE_NODE ran\ndirect:\n  - echo $CAFE_NODE direct\n")
        }
        try mesh.write("origin", "delivery.yaml", "provision:\n  - [gateway]\ndirect:\n  - [leaf1, leaf2]\n")
        try mesh.write("gateway", "delivery.yaml", "provision:\n  - [leaf1, leaf2]\n")
        for (name, namespace) in [("origin", sites.nsA), ("gateway", sites.nsG), ("leaf1", sites.nsB), ("leaf2", sites.nsB)] {
            try mesh.start(name, prefix: ["ip", "netns", "exec", namespace])
        }
        // "Cannot reach" is real: from site A, site B's address does not answer.
        let direct = system(["ip", "netns", "exec", sites.nsA, "bash", "-c", "exec 3<>/dev/tcp/\(sites.siteB)/\(mesh.ports["leaf1"]!)"], timeout: 10)
        #expect(direct.status != 0, "site A must not reach site B directly")
        // Relayed: the origin addresses the leaves, the gateway carries the envelopes.
        try mesh.directory.write("direct.yaml", "name: d\nrequests:\n  - name: direct\n")
        let relayed = cafe(["batch", "run", "--home", mesh.home("origin"), "--timeout", "30", mesh.directory.path + "/direct.yaml"], timeout: 120)
        #expect(relayed.status == 0, "\(relayed.stderr)")
        #expect(cafe(["verify", "--home", mesh.home("origin"), relayed.lastLine]).status == 0)
        // Hierarchical: the gateway fans out by its own delivery map.
        try mesh.directory.write("fan.yaml", "name: f\nrequests:\n  - name: provision\n")
        let fanned = cafe(["batch", "run", "--home", mesh.home("origin"), "--timeout", "30", mesh.directory.path + "/fan.yaml"], timeout: 120)
        #expect(fanned.status == 0, "\(fanned.stderr)")
        let verify = cafe(["verify", "--home", mesh.home("origin"), fanned.lastLine])
        #expect(verify.status == 0)
        #expect(verify.stdout.contains("via gateway on leaf2: ok, signed by leaf2"))
    }
}

/// Three network namespaces: site A (the origin), the gateway (a leg in both sites, no IP
/// forwarding), site B (the leaves). Private test addresses; removed by `tearDown()`.
struct TwoSites {
    let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    var nsA: String { "cafeA-\(suffix)" }
    var nsG: String { "cafeG-\(suffix)" }
    var nsB: String { "cafeB-\(suffix)" }
    let origin = "10.231.1.1"
    let gatewayA = "10.231.1.2"
    let gatewayB = "10.231.2.1"
    let siteB = "10.231.2.2"

    init() throws {
        let a = "va\(suffix.prefix(6))", ga = "vga\(suffix.prefix(6))", gb = "vgb\(suffix.prefix(6))", b = "vb\(suffix.prefix(6))"
        let steps: [[String]] = [
            ["ip", "netns", "add", nsA], ["ip", "netns", "add", nsG], ["ip", "netns", "add", nsB],
            ["ip", "link", "add", a, "type", "veth", "peer", "name", ga],
            ["ip", "link", "add", gb, "type", "veth", "peer", "name", b],
            ["ip", "link", "set", a, "netns", nsA], ["ip", "link", "set", ga, "netns", nsG],
            ["ip", "link", "set", gb, "netns", nsG], ["ip", "link", "set", b, "netns", nsB],
            ["ip", "-n", nsA, "addr", "add", "\(origin)/24", "dev", a],
            ["ip", "-n", nsG, "addr", "add", "\(gatewayA)/24", "dev", ga],
            ["ip", "-n", nsG, "addr", "add", "\(gatewayB)/24", "dev", gb],
            ["ip", "-n", nsB, "addr", "add", "\(siteB)/24", "dev", b],
        ] + [(nsA, a), (nsG, ga), (nsG, gb), (nsB, b), (nsA, "lo"), (nsG, "lo"), (nsB, "lo")].map { ["ip", "-n", $0.0, "link", "set", $0.1, "up"] }
        for step in steps {
            let done = system(step)
            guard done.status == 0 else {
                tearDown()
                throw EnvironmentError("\(step.joined(separator: " ")) failed: \(done.output)")
            }
        }
    }

    func tearDown() {
        for namespace in [nsA, nsG, nsB] { system(["ip", "netns", "delete", namespace]) }
    }
}
