import CafeCore
import CafeCrypto
import CafeWire

/// A node's home, its checked configuration, its private key and the public keys it knows.
/// Loaded once at start; every problem is reported before anything runs.
public struct NodeIdentity: Sendable {
    public let home: NodeHome
    public let configuration: NodeConfiguration
    public let key: SigningKey
    public let keys: KeyRing

    public var name: String { configuration.node.name }

    public init(home: NodeHome, configuration: NodeConfiguration, key: SigningKey) throws {
        guard let stored = try? KeyFiles.parsePublicLine(String(decoding: FileSystem.read(home.publicKey, maxBytes: 4096), as: UTF8.self)
            .trimmingNewline()), stored.key == key.publicKey
        else {
            throw CryptoError("\(home.publicKey) is missing or does not match \(home.privateKey)")
        }
        self.home = home
        self.configuration = configuration
        self.key = key
        self.keys = try KeyRing(config: configuration.node, ownKey: key.publicKey)
    }

    /// Reads and checks everything under `home`.
    public static func load(home: NodeHome) throws -> NodeIdentity {
        let configuration = try NodeConfiguration.load(from: home)
        let key = try KeyFiles.loadPrivateKey(from: home, name: configuration.node.name)
        return try NodeIdentity(home: home, configuration: configuration, key: key)
    }

    /// Signs `result` as this node's answer to request `index` of `batch`.
    public func signResult(
        _ result: HostResult, batch: BatchContext, index: Int, request: String, answers: String, now: Timestamp,
        random: any RandomSource
    ) -> Envelope {
        let header = EnvelopeHeader(
            kind: .result, id: EnvelopeID.make(time: now, random: random), origin: batch.origin, sender: name,
            target: batch.origin, created: now, expires: now.adding(seconds: configuration.node.settings.requestExpiry))
        let body = ResultBody(batch: batch.id, index: index, request: request, answers: answers, result: result.fitted())
        return Envelope.seal(header: header, body: .result(body), key: key)
    }
}

extension String {
    func trimmingNewline() -> String {
        var text = self
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        return text
    }
}
