import CafeCore
import CafeCrypto
import Glibc
import CafeTestSupport
import Testing

func hex(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

@Suite("Ed25519 keys")
struct KeyTests {
    /// RFC 8032, section 7.1, tests 1 to 3.
    static let vectors: [(seed: String, publicKey: String, message: String, signature: String)] = [
        ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
         "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
         "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
         "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
         "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ]

    @Test("RFC 8032 test vectors", arguments: 0..<3)
    func rfc8032(_ index: Int) throws {
        let vector = Self.vectors[index]
        let key = try SigningKey(seed: hex(vector.seed))
        #expect(key.publicKey.bytes == hex(vector.publicKey))
        #expect(key.sign(hex(vector.message)) == hex(vector.signature))
        #expect(key.publicKey.isValidSignature(hex(vector.signature), of: hex(vector.message)))
        var wrong = hex(vector.signature)
        wrong[0] ^= 1
        #expect(!key.publicKey.isValidSignature(wrong, of: hex(vector.message)))
        #expect(!key.publicKey.isValidSignature(hex(vector.signature), of: hex(vector.message) + [0]))
    }

    @Test("public keys print as ed25519:BASE64 and parse back")
    func publicText() throws {
        let key = try SigningKey.generate()
        let text = key.publicKey.text
        #expect(text.hasPrefix("ed25519:") && text.count == 52)
        #expect(try PublicKey(text: text) == key.publicKey)
        #expect(throws: CryptoError.self) { _ = try PublicKey(text: "ed25519:short") }
        #expect(key.publicKey.fingerprint.count == 16)
    }

    @Test("key files: created 0600, never overwritten, refused when group- or world-readable")
    func keyFiles() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        let home = NodeHome(directory.path)
        let key = try KeyFiles.create(name: "jlore", in: home)
        #expect(try FileSystem.mode(of: home.privateKey) == 0o600)
        #expect(throws: CryptoError.self) { _ = try KeyFiles.create(name: "jlore", in: home) }
        let loaded = try KeyFiles.loadPrivateKey(from: home, name: "jlore")
        #expect(loaded.publicKey == key.publicKey)
        #expect(throws: CryptoError.self) { _ = try KeyFiles.loadPrivateKey(from: home, name: "monk1") }
        chmod(home.privateKey, 0o640)
        do {
            _ = try KeyFiles.loadPrivateKey(from: home, name: "jlore")
            Issue.record("a group-readable key must be refused")
        } catch let error as CryptoError {
            #expect(error.description.contains("chmod 600"))
            #expect(error.exitStatus == 2)
        }
        let line = String(decoding: try FileSystem.read(home.publicKey, maxBytes: 200), as: UTF8.self)
        #expect(line == "jlore \(key.publicKey.text)\n")
    }
}

@Suite("sealed secrets")
struct SealTests {
    @Test("only the recipient opens a sealed value, and only under the same binding")
    func sealAndOpen() throws {
        let recipient = try SigningKey.generate()
        let other = try SigningKey.generate()
        let binding = SecretSealer.requestBinding(origin: "jlore", batch: "B", index: 0, request: "activate_dialup", recipient: "monk1", key: "pw")
        let sealed = try SecretSealer.seal(SecretBytes(Array("plane".utf8)), to: recipient.publicKey, binding: binding)
        #expect(sealed.hasPrefix("sealed:"))
        #expect(!sealed.contains("plane"))
        #expect(try SecretSealer.open(sealed, with: recipient, binding: binding).bytes == Array("plane".utf8))
        #expect(throws: CryptoError.self) { _ = try SecretSealer.open(sealed, with: other, binding: binding) }
        let elsewhere = SecretSealer.requestBinding(origin: "jlore", batch: "B", index: 1, request: "activate_dialup", recipient: "monk1", key: "pw")
        #expect(throws: CryptoError.self) { _ = try SecretSealer.open(sealed, with: recipient, binding: elsewhere) }
        let otherSigner = SecretSealer.requestBinding(origin: "mallory", batch: "B", index: 0, request: "activate_dialup", recipient: "monk1", key: "pw")
        #expect(throws: CryptoError.self) { _ = try SecretSealer.open(sealed, with: recipient, binding: otherSigner) }
        var tampered = Array(sealed.utf8)
        tampered[20] = tampered[20] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(throws: CryptoError.self) { _ = try SecretSealer.open(String(decoding: tampered, as: UTF8.self), with: recipient, binding: binding) }
    }

    @Test("sealing the same value twice gives different texts")
    func randomized() throws {
        let key = try SigningKey.generate()
        let a = try SecretSealer.seal(SecretBytes([1, 2, 3]), to: key.publicKey, binding: "b")
        let b = try SecretSealer.seal(SecretBytes([1, 2, 3]), to: key.publicKey, binding: "b")
        #expect(a != b)
    }
}

@Suite("trust policy")
struct TrustTests {
    let policy = TrustPolicy(TrustConfig(rules: [
        "jlore": TrustRule(requests: ["activate_dialup", "mail_*"], adhoc: false, relay: true),
        "ops": TrustRule(requests: ["*"], adhoc: true),
    ]))

    @Test("default deny for unknown signers")
    func unknownSigner() {
        let decision = policy.decide(signer: "mallory", action: .request("activate_dialup"))
        #expect(!decision.allowed)
        #expect(decision.reason == "mallory is not in trust.yaml")
    }

    @Test("request names match exact names and globs")
    func requests() {
        #expect(policy.decide(signer: "jlore", action: .request("activate_dialup")).allowed)
        #expect(policy.decide(signer: "jlore", action: .request("mail_create")).allowed)
        #expect(!policy.decide(signer: "jlore", action: .request("mail")).allowed)
        #expect(!policy.decide(signer: "jlore", action: .request("delete_all")).allowed)
        #expect(policy.decide(signer: "ops", action: .request("anything")).allowed)
    }

    @Test("ad-hoc and relay are separate permissions")
    func adhocAndRelay() {
        #expect(!policy.decide(signer: "jlore", action: .adhoc).allowed)
        #expect(policy.decide(signer: "jlore", action: .relay).allowed)
        #expect(policy.decide(signer: "ops", action: .adhoc).allowed)
        #expect(!policy.decide(signer: "ops", action: .relay).allowed)
    }

    @Test("a trust entry without a requests: list allows no request, whatever else it allows")
    func noRequestsListAllowsNone() throws {
        let config = try TrustConfig(yaml: Array("gw: {relay: true}\nops: {adhoc: true}\nnone: {requests: []}\n".utf8), source: "trust.yaml")
        let policy = TrustPolicy(config)
        for signer in ["gw", "ops", "none"] {
            for request in ["activate_dialup", "x", "*", ""] {
                #expect(!policy.decide(signer: signer, action: .request(request)).allowed, "\(signer) may not ask for '\(request)'")
            }
        }
        #expect(policy.decide(signer: "gw", action: .relay).allowed)
        #expect(policy.decide(signer: "ops", action: .adhoc).allowed)
    }

    @Test("tag: grants apply to the tags a signer's certificate gives it, next to its own entry")
    func tagGrants() throws {
        let config = try TrustConfig(
            yaml: Array("\"tag:ops\": {requests: [restart_*]}\n\"tag:relays\": {relay: true}\njlore: {requests: [provision]}\n".utf8),
            source: "trust.yaml")
        let policy = TrustPolicy(config)
        #expect(policy.decide(signer: "web01", tags: ["ops"], action: .request("restart_nginx")).reason == "trust.yaml allows tag:ops 'restart_*'")
        #expect(!policy.decide(signer: "web01", tags: ["web"], action: .request("restart_nginx")).allowed)
        #expect(!policy.decide(signer: "web01", action: .request("restart_nginx")).allowed, "no certificate, no tags")
        #expect(policy.decide(signer: "jlore", tags: ["ops"], action: .request("provision")).allowed)
        #expect(policy.decide(signer: "jlore", tags: ["ops"], action: .request("restart_x")).allowed)
        #expect(policy.decide(signer: "gw", tags: ["relays"], action: .relay).allowed)
        #expect(policy.decide(signer: "web01", tags: ["web"], action: .adhoc).reason == "web01 (tags web) is not in trust.yaml")
        #expect(throws: InputError.self) { try TrustConfig(yaml: Array("\"tag:\": {}\n".utf8), source: "trust.yaml") }
    }

    @Test("glob matching", arguments: [
        ("*", "", true), ("a*", "abc", true), ("a?c", "abc", true), ("a?c", "ac", false), ("*_x", "a_b_x", true),
        ("a*b*c", "aXbYc", true), ("a*b*c", "aXbY", false), ("abc", "abcd", false),
    ])
    func glob(pattern: String, name: String, expected: Bool) {
        #expect(TrustPolicy.glob(pattern, matches: name) == expected)
    }
}
