import ArgumentParser
import CafeCore
import CafeCrypto
import CafeWire

/// `cafe fleet`: the offline fleet key that certifies nodes' keys, and its revocation list.
struct FleetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet", abstract: "Certify node keys with an offline fleet key, and revoke certificates.",
        discussion: """
            Keep the fleet key off the nodes (an offline machine, a hardware-backed vault). Nodes list the fleet's \
            public key under fleets: in node.yaml; a peer certified by it needs no key: line. See docs/security.md.
            """,
        subcommands: [Init.self, Sign.self, Revoke.self])

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create a fleet key: DIR/fleet.key (0600) and DIR/fleet.pub; prints `FLEET ed25519:BASE64`.")

        @Option(help: ArgumentHelp("Directory for the fleet key (created if missing).", valueName: "DIR"))
        var out: String

        @Option(help: "The fleet's name, as node.yaml's fleets: will list it.")
        var name: String

        func validate() throws {
            guard Names.isValidNode(name) else { throw ValidationError("'\(name)' is not a valid fleet name (letters, digits, _ . -)") }
        }

        func run() async throws {
            let key = FleetFiles.key(in: out)
            guard !FileSystem.exists(key.privatePath) else {
                throw InputError(source: key.privatePath, message: "already exists", hint: "cafe fleet init never overwrites a fleet key; choose another --out")
            }
            try FileSystem.makeDirectory(out)
            let signing = try SigningKey.generate()
            try KeyFiles.write(signing, name: name, to: key.privatePath, publicPath: key.publicPath, what: "fleet")
            print("\(name) \(signing.publicKey.text)")
            note("fleet key written to \(key.privatePath) (keep it offline); add the line above under fleets: in each node's node.yaml as `\(name): \"\(signing.publicKey.text)\"`")
        }
    }

    struct Sign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sign",
            abstract: "Print a certificate of a node's key, signed with the fleet key.",
            discussion: """
                Save the output as keys/node.cert in the node's home and restart it. Serials count up in \
                FLEET-DIR/fleet.serial unless --serial is given.
                """)

        @Option(help: ArgumentHelp("The fleet's private key file (fleet.key).", valueName: "FILE"))
        var fleetKey: String

        @Option(help: "The node's name.")
        var name: String

        @Option(help: ArgumentHelp("The node's public key, as `cafe key show` prints it.", valueName: "ed25519:BASE64"))
        var key: String

        @Option(help: ArgumentHelp("A tag for trust.yaml's tag:T grants (repeat for several).", valueName: "T"))
        var tag: [String] = []

        @Option(help: "Days the certificate is valid, from --not-before.")
        var days = 365

        @Option(help: ArgumentHelp("Start of validity (ISO 8601 UTC; default now).", valueName: "TIME"))
        var notBefore: String?

        @Option(help: ArgumentHelp("End of validity (ISO 8601 UTC); overrides --days.", valueName: "TIME"))
        var notAfter: String?

        @Option(help: "The certificate's serial (default: the next in fleet.serial).")
        var serial: Int?

        func validate() throws {
            guard Names.isValidNode(name) else { throw ValidationError("'\(name)' is not a valid node name") }
            guard PublicKeyText.isValid(key) else { throw ValidationError("--key '\(key)' is not `ed25519:` and 44 base64 characters (`cafe key show` prints it)") }
            for value in tag where !NodeCertificate.isValidTag(value) { throw ValidationError("--tag '\(value)' is not a tag (letters, digits, _ . -)") }
            guard days > 0 else { throw ValidationError("--days must be at least 1") }
            for (flag, value) in [("--not-before", notBefore), ("--not-after", notAfter)] {
                if let value, Timestamp(iso8601: value) == nil { throw ValidationError("\(flag) '\(value)' is not a time (2026-12-02T10:00:00Z)") }
            }
            if let serial, serial < 1 { throw ValidationError("--serial must be at least 1") }
        }

        func run() async throws {
            let (fleet, signing) = try KeyFiles.loadPrivateKey(fleetKey)
            let start = notBefore.flatMap(Timestamp.init(iso8601:)) ?? SystemClock().now()
            let end = notAfter.flatMap(Timestamp.init(iso8601:)) ?? start.adding(seconds: Double(days) * 86_400)
            guard start < end else { throw ValidationError("the certificate would end (\(end)) before it starts (\(start))") }
            let number = try serial ?? FleetFiles.nextSerial(besides: fleetKey)
            let certificate = NodeCertificate(
                fleet: fleet, name: name, key: try PublicKey(text: key), tags: tag, notBefore: start, notAfter: end, serial: number,
                fleetKey: signing)
            print(String(decoding: certificate.bytes, as: UTF8.self), terminator: "")
            note("certificate \(fleet) #\(number) for \(name): save it as keys/node.cert in \(name)'s home and restart its node")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke",
            abstract: "Add a certificate serial to the fleet's signed revocation list.",
            discussion: """
                Copy the list to every node's config/ (as revoked.yaml, or revoked-FLEET.yaml for several fleets) and \
                run `cafe reload`: nodes then refuse the certificate's handshakes and signatures made from --at on, \
                and `cafe verify --revoked FILE` fails them.
                """)

        @Option(help: ArgumentHelp("The fleet's private key file (fleet.key).", valueName: "FILE"))
        var fleetKey: String

        @Option(help: "The serial of the certificate to revoke.")
        var serial: Int

        @Option(help: ArgumentHelp("Revoked from this instant (ISO 8601 UTC; default now). Signatures made before it still verify.", valueName: "TIME"))
        var at: String?

        @Option(help: ArgumentHelp("The revocation list to update (default: revoked.yaml next to the fleet key).", valueName: "FILE"))
        var list: String?

        func validate() throws {
            if let at, Timestamp(iso8601: at) == nil { throw ValidationError("--at '\(at)' is not a time (2026-12-02T10:00:00Z)") }
        }

        func run() async throws {
            let (fleet, signing) = try KeyFiles.loadPrivateKey(fleetKey)
            let path = list ?? FileSystem.parent(of: FileSystem.absolute(fleetKey)) + "/revoked.yaml"
            let now = SystemClock().now()
            var revocations = RevocationList(fleet: fleet, updated: now)
            if FileSystem.exists(path) {
                revocations = try RevocationList(
                    bytes: try FileSystem.read(path, maxBytes: SignedDocument.maxRevocationBytes),
                    fleets: [FleetAnchor(name: fleet, key: signing.publicKey)], source: path)
                revocations.updated = max(now, revocations.updated)
            }
            let from = at.flatMap(Timestamp.init(iso8601:)) ?? now
            if let earlier = revocations.revoked[serial], earlier <= from {
                note("certificate \(fleet) #\(serial) is already revoked from \(earlier); \(path) is unchanged")
                return
            }
            revocations.revoked[serial] = from
            try FileSystem.writeAtomically(revocations.signed(with: signing), to: path, mode: 0o644)
            print(path)
            note("certificate \(fleet) #\(serial) revoked from \(from); copy \(path) to each node's config/ and run `cafe reload` there")
        }
    }
}

/// The files of a fleet key directory.
enum FleetFiles {
    static func key(in directory: String) -> (privatePath: String, publicPath: String) {
        (directory + "/fleet.key", directory + "/fleet.pub")
    }

    /// The next serial in `fleet.serial` next to the fleet key, written back before it is used.
    static func nextSerial(besides fleetKey: String) throws -> Int {
        let path = FileSystem.parent(of: FileSystem.absolute(fleetKey)) + "/fleet.serial"
        var last = 0
        if FileSystem.exists(path) {
            let text = String(decoding: try FileSystem.read(path, maxBytes: 64), as: UTF8.self)
            guard let number = Int(text.trimmingCharacters(in: " \n")) else {
                throw InputError(source: path, message: "is not a number", hint: "put the last serial used in it, or pass --serial")
            }
            last = number
        }
        try FileSystem.writeAtomically(Array("\(last + 1)\n".utf8), to: path, mode: 0o644)
        return last + 1
    }
}
