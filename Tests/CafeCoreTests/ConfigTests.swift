import CafeCore
import CafeTestSupport
import Testing

@Suite("configuration files")
struct ConfigTests {
    let key = "ed25519:c33/EUb+oJuCge/sM4s7/V7sEj0tk2Bt6XI2nZ3q/7I="

    func failure(_ body: () throws -> Void) -> InputError? {
        do {
            try body()
            return nil
        } catch let error as InputError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("node.yaml with peers of every kind")
    func nodeConfig() throws {
        let text = """
            name: jlore
            listen: 127.0.0.1:7401
            peers:
              monk1:    {address: 127.0.0.1:7402, key: "\(key)"}
              cluster1: {via: monk1, key: "\(key)"}
              farsite:  {scp: {target: "root@10.0.0.9:/var/lib/cafe/dropbox", port: 2222, identity: /root/.ssh/id, options: ["-o", "X=1"]}, key: "\(key)"}
            settings: {request-expiry: 600}
            """
        let config = try NodeFile(yaml: Array(text.utf8), source: "node.yaml")
        #expect(config.name == "jlore")
        #expect(config.listen == HostPort(host: "127.0.0.1", port: 7401))
        #expect(config.peers["monk1"]?.route == .address(HostPort(host: "127.0.0.1", port: 7402)))
        #expect(config.peers["cluster1"]?.route == .via("monk1"))
        #expect(config.peers["farsite"]?.route == .scp(ScpTarget(target: "root@10.0.0.9:/var/lib/cafe/dropbox", port: 2222, identity: "/root/.ssh/id", options: ["-o", "X=1"])))
        #expect(config.settings.requestExpiry == 600)
    }

    @Test("an unknown key names the file, line, column and field, and suggests the right one")
    func unknownKey() {
        let error = failure {
            _ = try NodeFile(yaml: Array("name: jlore\npeers:\n  monk1: {adress: 127.0.0.1:7402, key: \"\(key)\"}\n".utf8), source: "config/node.yaml")
        }
        #expect(error?.line == 3)
        #expect(error?.column == 11)
        #expect(error?.field == "peers.monk1.adress")
        #expect(error?.hint == "did you mean 'address'?")
        #expect(error?.description.hasPrefix("config/node.yaml:3:11: peers.monk1.adress: unknown key 'adress'") == true)
    }

    @Test("wrong types and bad values are refused with their place")
    func wrongTypes() {
        #expect(failure { _ = try NodeFile(yaml: Array("name: [a]\n".utf8), source: "n") }?.message.contains("expected a text value") == true)
        #expect(failure { _ = try NodeFile(yaml: Array("name: a/b\n".utf8), source: "n") }?.message.contains("not a valid node name") == true)
        #expect(failure { _ = try NodeFile(yaml: Array("name: a\nlisten: nowhere\n".utf8), source: "n") }?.line == 2)
        #expect(failure { _ = try NodeFile(yaml: Array("name: a\npeers:\n  b: {address: 1.2.3.4:5, key: x}\n".utf8), source: "n") }?.field == "peers.b.key")
        #expect(failure { _ = try NodeFile(yaml: Array("name: a\npeers:\n  b: {key: \"\(key)\"}\n".utf8), source: "n") }?.message.contains("exactly one of") == true)
        #expect(failure { _ = try NodeFile(yaml: Array("name: a\npeers:\n  b: {via: c, key: \"\(key)\"}\n  c: {via: b, key: \"\(key)\"}\n".utf8), source: "n") }?.message.contains("loops") == true)
        #expect(failure { _ = try NodeFile(yaml: Array("".utf8), source: "n") }?.message == "is empty")
    }

    @Test("commands.yaml: lists, argv, and entries with limits")
    func commandMap() throws {
        let text = """
            activate_dialup:
              - /usr/bin/blahh
              - ["/usr/sbin/useradd", "-m", "{{username}}"]
            reindex:
              timeout: 3600
              output-cap: 4096
              commands: [/usr/local/bin/reindex]
            """
        let map = try CommandMap(yaml: Array(text.utf8), source: "commands.yaml")
        #expect(map.entry(for: "activate_dialup")?.commands == [.shell("/usr/bin/blahh"), .argv(["/usr/sbin/useradd", "-m", "{{username}}"])])
        #expect(map.entry(for: "activate_dialup")?.timeout == 300)
        #expect(map.entry(for: "reindex")?.timeout == 3600)
        #expect(map.entry(for: "reindex")?.outputCap == 4096)
        #expect(failure { _ = try CommandMap(yaml: Array("x:\n  timeout: 0\n  commands: [a]\n".utf8), source: "c") }?.line == 2)
        #expect(failure { _ = try CommandMap(yaml: Array("x: []\n".utf8), source: "c") }?.message == "lists no commands")
        #expect(failure { _ = try CommandMap(yaml: Array("x:\n  - []\n".utf8), source: "c") }?.message.contains("program") == true)
        #expect(failure { _ = try CommandMap(yaml: Array("../x: [a]\n".utf8), source: "c") }?.message.contains("not a valid request name") == true)
    }

    @Test("delivery.yaml: groups in order; duplicates and empty groups refused")
    func deliveryMap() throws {
        let map = try DeliveryMap(yaml: Array("activate_dialup:\n  - [jlore, monk1, cluster1]\n  - [backup1]\n".utf8), source: "d")
        #expect(map.groups(for: "activate_dialup") == [["jlore", "monk1", "cluster1"], ["backup1"]])
        #expect(failure { _ = try DeliveryMap(yaml: Array("a:\n  - [x, y]\n  - [x]\n".utf8), source: "d") }?.message.contains("more than once") == true)
        #expect(failure { _ = try DeliveryMap(yaml: Array("a:\n  - []\n".utf8), source: "d") }?.message == "is an empty group")
    }

    @Test("delivery.yaml rollout groups: rules read back as written; bad shares, durations, keys and selectors refused with their place")
    func rolloutGroups() throws {
        let text = """
            deploy:
              - [canary]
              - hosts: ["tag:web", web9]
                batch: 25%
                max-failures: 1
                pause: 2m
                check: web_health
            """
        let map = try DeliveryMap(yaml: Array(text.utf8), source: "d")
        let group = try #require(map.groups(for: "deploy")?[1])
        #expect(group == HostGroup(["tag:web", "web9"], batch: .percent(25), maxFailures: .count(1), pause: 120, check: "web_health"))
        #expect(map.groups(for: "deploy")?[0].isPlain == true)
        // What a plan and an executed file write reads back the same (selectors resolved first).
        var resolved = group
        resolved.hosts = ["web1", "web9"]
        let reread = try HostGroup(YAMLReader.document(YAMLEmitter.bytes(resolved.yamlValue), limits: .config, source: "p"), selectors: false)
        #expect(reread == resolved)
        #expect(failure { _ = try HostGroup(YAMLReader.document(YAMLEmitter.bytes(group.yamlValue), limits: .config, source: "p"), selectors: false) }?
            .message.contains("is a selector") == true)
        // Windows round up, budgets round down.
        #expect(HostGroup(Array(repeating: "h", count: 10), batch: .percent(25)).window == 3)
        #expect(HostGroup(Array(repeating: "h", count: 15), maxFailures: .percent(10)).tolerated == 1)
        for (rule, message) in [
            ("batch: 0", "'0' is not a number of hosts"), ("batch: 0%", "'0%' is not a share of hosts"),
            ("max-failures: 150%", "'150%' is not a share of hosts"), ("pause: soon", "expected a duration such as 30s, 5m or 1h, found 'soon'"),
            ("pause: 1e300", "must be at most 30 days (requests expire by then)"), ("check: a/b", "'a/b' is not a valid request name (letters, digits, _ . -)"),
        ] {
            let error = failure { _ = try DeliveryMap(yaml: Array("deploy:\n  - hosts: [a]\n    \(rule)\n".utf8), source: "d") }
            #expect(error?.message == message, "\(rule)")
            #expect(error?.line == 3)
        }
        let unknown = failure { _ = try DeliveryMap(yaml: Array("deploy:\n  - hosts: [a]\n    max-failure: 1\n".utf8), source: "d") }
        #expect(unknown?.message == "unknown key 'max-failure'" && unknown?.hint == "did you mean 'max-failures'?")
        #expect(failure { _ = try DeliveryMap(yaml: Array("deploy:\n  - hosts: [\"tag:\"]\n".utf8), source: "d") }?.message == "'tag:' is not a valid selector")
    }

    @Test("trust.yaml: rules with defaults; bad globs refused")
    func trust() throws {
        let trust = try TrustConfig(yaml: Array("jlore: {requests: [activate_dialup, \"mail_*\"], relay: true}\nmonk1: {}\n".utf8), source: "t")
        #expect(trust.rules["jlore"] == TrustRule(requests: ["activate_dialup", "mail_*"], adhoc: false, relay: true))
        #expect(trust.rules["monk1"] == TrustRule())
        #expect(failure { _ = try TrustConfig(yaml: Array("a: {requests: [\"x/y\"]}\n".utf8), source: "t") }?.message.contains("not a request name") == true)
        #expect(failure { _ = try TrustConfig(yaml: Array("a: {adhoc: yes-please}\n".utf8), source: "t") }?.message.contains("true or false") == true)
    }

    @Test("config is checked across files at start: unknown hosts and signers")
    func crossValidation() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let home = NodeHome(directory.path)
        try home.createLayout()
        try FileSystem.writeAtomically(Array("name: jlore\npeers:\n  monk1: {address: 127.0.0.1:7402, key: \"\(key)\"}\n".utf8), to: home.nodeConfig)
        try FileSystem.writeAtomically(Array("activate_dialup:\n  - [jlore, monk1]\n  - [backup1]\n".utf8), to: home.deliveryConfig)
        let error = failure { _ = try NodeConfiguration.load(from: home) }
        #expect(error?.source == home.deliveryConfig)
        #expect(error?.line == 2)
        #expect(error?.message.contains("backup1") == true)
        try FileSystem.writeAtomically(Array("activate_dialup:\n  - [jlore, monk1]\n".utf8), to: home.deliveryConfig)
        try FileSystem.writeAtomically(Array("stranger: {requests: [x]}\n".utf8), to: home.trustConfig)
        #expect(failure { _ = try NodeConfiguration.load(from: home) }?.source == home.trustConfig)
        try FileSystem.writeAtomically(Array("monk1: {requests: [x]}\n".utf8), to: home.trustConfig)
        let configuration = try NodeConfiguration.load(from: home)
        #expect(configuration.delivery.groups(for: "activate_dialup") == [["jlore", "monk1"]])
    }

    @Test("a missing node.yaml says how to create the node")
    func missingNode() {
        let error = failure { _ = try NodeConfiguration.load(from: NodeHome("/nonexistent/cafe")) }
        #expect(error?.hint?.contains("cafe init") == true)
    }
}

@Suite("editing config files in place")
struct ConfigEditorTests {
    @Test("an entry is added as one line at the end of its mapping; comments, order and other lines stay")
    func add() throws {
        let node = "# head\nname: a\npeers:\n  b: {via: c, key: \"k\"}   # b's note\n  c: {address: \"1.2.3.4:5\", key: \"k\"}\n\n# a comment for settings\nsettings: {max-parallel: 4}\n"
        let added = try ConfigEditor.add("d: {via: c, key: \"k\"}", under: "peers", in: node, source: "node.yaml")
        #expect(added == node.replacing("  c: {address: \"1.2.3.4:5\", key: \"k\"}\n", with: "  c: {address: \"1.2.3.4:5\", key: \"k\"}\n  d: {via: c, key: \"k\"}\n"))
        #expect(try ConfigEditor.add("x: 1", under: "peers", in: "name: a\n", source: "n") == "name: a\npeers:\n  x: 1\n")
        #expect(try ConfigEditor.add("x: 1", under: "peers", in: "name: a\npeers:\n", source: "n") == "name: a\npeers:\n  x: 1\n")
        #expect(try ConfigEditor.add("x: 1", under: "peers", in: "name: a\npeers: {}\n", source: "n") == "name: a\npeers:\n  x: 1\n")
        #expect(throws: InputError.self) { try ConfigEditor.add("x: 1", under: "peers", in: "peers: {b: 1}\n", source: "n") }
    }

    @Test("empty and comment-only files take a first entry without trouble")
    func emptyFiles() throws {
        #expect(try ConfigEditor.add("a: {adhoc: true}", under: nil, in: "", source: "t") == "a: {adhoc: true}\n")
        #expect(try ConfigEditor.add("x: 1", under: "peers", in: "", source: "n") == "peers:\n  x: 1\n")
        #expect(try ConfigEditor.add("a: {adhoc: true}", under: nil, in: "# one\n# two\n", source: "t") == "# one\n# two\na: {adhoc: true}\n")
    }

    @Test("an entry is removed with the lines it spans, and nothing else")
    func remove() throws {
        let node = "name: a\npeers:\n  b:\n    via: c\n    key: \"k\"\n  c: {address: \"1.2.3.4:5\", key: \"k\"}\nsettings: {max-parallel: 4}\n"
        #expect(try ConfigEditor.remove("b", under: "peers", in: node, source: "n") == "name: a\npeers:\n  c: {address: \"1.2.3.4:5\", key: \"k\"}\nsettings: {max-parallel: 4}\n")
        #expect(try ConfigEditor.remove("c", under: "peers", in: node, source: "n") == "name: a\npeers:\n  b:\n    via: c\n    key: \"k\"\nsettings: {max-parallel: 4}\n")
        #expect(throws: InputError.self) { try ConfigEditor.remove("z", under: "peers", in: node, source: "n") }
    }
}
