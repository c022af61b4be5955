import CSodium
import CafeCore
import Glibc

/// The node's key files under `keys/`:
///
/// - `node.key` — `NAME ed25519-seed:BASE64` (the 32-byte Ed25519 seed), after comment lines;
///   mode 0600. Refused, like OpenSSH refuses a private key, when group or others may read it.
/// - `node.pub` — `NAME ed25519:BASE64`, the line `cafe key show` prints and peers paste into
///   their `node.yaml`.
public enum KeyFiles {
    static let seedPrefix = "ed25519-seed:"

    /// Creates a new key pair for `name` in `home`. Never overwrites an existing key.
    public static func create(name: String, in home: NodeHome) throws -> SigningKey {
        guard !FileSystem.exists(home.privateKey) else {
            throw CryptoError("\(home.privateKey) already exists; refusing to overwrite a key")
        }
        let key = try SigningKey.generate()
        try FileSystem.makeDirectory(home.keysDirectory)
        try write(key, name: name, to: home.privateKey, publicPath: home.publicKey, what: "node")
        return key
    }

    /// Writes `key` as `NAME ed25519-seed:BASE64` to `path` (mode 0600, atomically and durably)
    /// and its public line to `publicPath`. `what` names the key in the file's comment.
    public static func write(_ key: SigningKey, name: String, to path: String, publicPath: String, what: String) throws {
        var seed = key.exportSeed()
        defer { sodium_memzero(&seed, seed.count) }
        var text = Array(
            "# CafeBatch private key of \(what) \(name). Keep it secret: mode 0600, never copy it off this host.\n\(name) \(seedPrefix)"
                .utf8)
        text.append(contentsOf: Base64.encode(seed).utf8)
        text.append(UInt8(ascii: "\n"))
        defer { sodium_memzero(&text, text.count) }
        try FileSystem.writeAtomically(text, to: path, mode: 0o600)
        try FileSystem.writeAtomically(Array(publicLine(name: name, key: key.publicKey).utf8), to: publicPath, mode: 0o644)
    }

    /// `NAME ed25519:BASE64` plus a newline.
    public static func publicLine(name: String, key: PublicKey) -> String {
        "\(name) \(key.text)\n"
    }

    /// Loads the node's private key, checking its permissions and that it names `name`.
    public static func loadPrivateKey(from home: NodeHome, name: String) throws -> SigningKey {
        let path = home.privateKey
        guard FileSystem.exists(path) else {
            throw CryptoError("\(path) not found; create the node with `cafe init --name \(name) --home \(home.root)`")
        }
        let (named, key) = try loadPrivateKey(path)
        guard named == name else { throw CryptoError("\(path): names '\(named)', not \(name) (is this the key of another node?)") }
        return key
    }

    /// Reads a private key file `NAME ed25519-seed:BASE64` (a node's or a fleet's), refusing it
    /// when group or others may read it; returns the name it holds and the key.
    public static func loadPrivateKey(_ path: String) throws -> (name: String, key: SigningKey) {
        guard FileSystem.exists(path) else { throw CryptoError("\(path) not found") }
        let mode = try FileSystem.mode(of: path)
        guard mode & 0o077 == 0 else {
            throw CryptoError(
                "\(path) is readable by group or others (mode \(String(mode, radix: 8))); run `chmod 600 \(path)`")
        }
        var bytes = try FileSystem.read(path, maxBytes: 4096)
        defer { sodium_memzero(&bytes, bytes.count) }
        let lines = bytes.split(separator: UInt8(ascii: "\n")).filter { $0.first != UInt8(ascii: "#") && !$0.isEmpty }
        guard lines.count == 1 else { throw CryptoError("\(path): expected one line `NAME \(seedPrefix)BASE64`") }
        let parts = lines[0].split(separator: UInt8(ascii: " "))
        guard parts.count == 2, case let name = String(decoding: parts[0], as: UTF8.self), Names.isValidNode(name),
            parts[1].starts(with: seedPrefix.utf8)
        else {
            throw CryptoError("\(path): expected `NAME \(seedPrefix)BASE64`")
        }
        let encoded = String(decoding: parts[1].dropFirst(seedPrefix.utf8.count), as: UTF8.self)
        guard var seed = Base64.decode(encoded), seed.count == 32 else {
            throw CryptoError("\(path): the seed is not 32 bytes of base64")
        }
        defer { sodium_memzero(&seed, seed.count) }
        return (name, try SigningKey(seed: seed))
    }

    /// Reads `keys/node.pub` of `home`: the node's name and public key.
    public static func loadPublicKey(from home: NodeHome) throws -> (name: String, key: PublicKey) {
        guard FileSystem.exists(home.publicKey) else {
            throw CryptoError("\(home.publicKey) not found; create the node with `cafe init --name NAME --home \(home.root)`")
        }
        let text = String(decoding: try FileSystem.read(home.publicKey, maxBytes: 4096), as: UTF8.self)
        return try parsePublicLine(String(text.split(separator: "\n").first ?? ""))
    }

    /// Parses a public key line `NAME ed25519:BASE64`.
    public static func parsePublicLine(_ line: String) throws -> (name: String, key: PublicKey) {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, Names.isValidNode(String(parts[0])) else {
            throw CryptoError("'\(line)' is not `NAME ed25519:BASE64`")
        }
        return (String(parts[0]), try PublicKey(text: String(parts[1])))
    }
}
