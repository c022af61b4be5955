import Glibc

/// The layout of a node's home directory (`--home DIR`, else `$CAFE_HOME`, else `~/.cafe`).
///
/// ```
/// DIR/config/{node,delivery,commands,trust}.yaml
/// DIR/keys/node.key (0600)  DIR/keys/node.pub  DIR/keys/node.cert (a fleet certificate, optional)
/// DIR/keys/history/ (keys this node had, and the transitions it signed)
/// DIR/keys/peers/ (certificates and key transitions learned from peers)
/// DIR/config/revoked.yaml, revoked-*.yaml (fleets' revocation lists, optional)
/// DIR/batches/{original,queue,running,done,error,plans}/
/// DIR/dropbox/   DIR/spool/   DIR/log/   DIR/run/
/// ```
public struct NodeHome: Sendable, Hashable {
    /// Absolute path of the home directory.
    public let root: String

    public init(_ root: String) {
        var path = FileSystem.absolute(root)
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        self.root = path
    }

    /// `explicit` when given, else `$CAFE_HOME`, else `~/.cafe`.
    public static func resolve(_ explicit: String?) -> NodeHome {
        if let explicit, !explicit.isEmpty { return NodeHome(explicit) }
        if let value = getenv("CAFE_HOME"), value.pointee != 0 { return NodeHome(String(cString: value)) }
        let home = getenv("HOME").map { String(cString: $0) } ?? "/root"
        return NodeHome(home + "/.cafe")
    }

    public var configDirectory: String { root + "/config" }
    public var nodeConfig: String { configDirectory + "/node.yaml" }
    public var deliveryConfig: String { configDirectory + "/delivery.yaml" }
    public var commandsConfig: String { configDirectory + "/commands.yaml" }
    public var trustConfig: String { configDirectory + "/trust.yaml" }
    public var keysDirectory: String { root + "/keys" }
    public var privateKey: String { keysDirectory + "/node.key" }
    public var publicKey: String { keysDirectory + "/node.pub" }
    /// This node's fleet certificate, if it has one (`cafe fleet sign` prints it).
    public var certificate: String { keysDirectory + "/node.cert" }
    /// Retired key pairs and the key transitions `cafe key rotate` signed.
    public var keyHistory: String { keysDirectory + "/history" }
    /// What this node learned of its peers' keys: `NAME.cert`, `NAME.transitions`.
    public var learnedKeys: String { keysDirectory + "/peers" }

    /// The revocation lists in `config/`: `revoked.yaml` and `revoked-*.yaml`.
    public func revocationLists() throws -> [String] {
        try FileSystem.list(configDirectory)
            .filter { $0 == "revoked.yaml" || ($0.hasPrefix("revoked-") && $0.hasSuffix(".yaml")) }
            .sorted().map { configDirectory + "/" + $0 }
    }
    public var batchesDirectory: String { root + "/batches" }
    public var dropbox: String { root + "/dropbox" }
    public var spool: String { root + "/spool" }
    public var logDirectory: String { root + "/log" }
    public var auditLog: String { logDirectory + "/audit.log" }
    public var runDirectory: String { root + "/run" }
    public var controlSocket: String { runDirectory + "/control.sock" }

    /// `batches/original`, `batches/done`, …
    public func batches(_ folder: BatchFolder) -> String { batchesDirectory + "/" + folder.rawValue }

    /// `batches/FOLDER/ID.yaml`
    public func batchFile(_ id: BatchID, in folder: BatchFolder) -> String {
        batches(folder) + "/" + id.rawValue + ".yaml"
    }

    /// `batches/plans`: the plans `cafe batch plan` collected, as `HASH.yaml`.
    public var plans: String { batchesDirectory + "/plans" }

    /// The executed batch file of batch `id` once it has ended: in `done/` or `error/`.
    public func executedBatchFile(_ id: BatchID) -> (folder: BatchFolder, path: String)? {
        for folder in [BatchFolder.done, .error] where FileSystem.exists(batchFile(id, in: folder)) {
            return (folder, batchFile(id, in: folder))
        }
        return nil
    }

    /// Creates every directory of the layout (mode 0700) that is missing.
    public func createLayout() throws {
        for directory in [root, configDirectory, keysDirectory, dropbox, spool, logDirectory, runDirectory]
            + BatchFolder.allCases.map(batches)
        {
            try FileSystem.makeDirectory(directory)
        }
    }
}

/// The folders under `batches/`.
public enum BatchFolder: String, Sendable, CaseIterable {
    case original, queue, running, done, error
}
