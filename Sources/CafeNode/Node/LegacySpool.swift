import CafeCore
import CafeWire

/// The outbox and request spool as files, as nodes before `spool/node.log` kept them
/// (`spool/outbox/ID.env`; `spool/requests/ORIGIN.BATCH.INDEX.request`, `.running`, `.result`,
/// `.delivered`). A node started on such a home moves them into its log: the log is written
/// first, the files removed after, so a crash in between only moves them again.
struct LegacySpool {
    let outboxDirectory: String
    let requestsDirectory: String
    let records: [NodeLogRecord]

    /// Reads what the two folders hold (nothing when they are missing). Files whose writes a
    /// crash interrupted (never renamed into place) are left out.
    init(home: NodeHome) throws {
        outboxDirectory = home.spool + "/outbox"
        requestsDirectory = home.spool + "/requests"
        var records: [NodeLogRecord] = []
        let outbox = try Self.files(in: outboxDirectory)
        for name in outbox where name.hasSuffix(".env") {
            records.append(.outbox(id: String(name.dropLast(4)), envelope: try FileSystem.read(outboxDirectory + "/" + name, maxBytes: EnvelopeLimits.maxBytes)))
        }
        let requests = Set(try Self.files(in: requestsDirectory))
        for name in requests.sorted() where name.hasSuffix(".request") {
            let stem = String(name.dropLast(".request".count))
            let path = requestsDirectory + "/" + stem
            records.append(.request(stem: stem, envelope: try FileSystem.read(path + ".request", maxBytes: EnvelopeLimits.maxBytes)))
            if requests.contains(stem + ".running") { records.append(.running(stem: stem)) }
            if requests.contains(stem + ".result") {
                records.append(.result(stem: stem, envelope: try FileSystem.read(path + ".result", maxBytes: EnvelopeLimits.maxBytes)))
            }
            if requests.contains(stem + ".delivered") { records.append(.delivered(stem: stem)) }
        }
        self.records = records
    }

    func migrate(into state: inout NodeLogState) {
        for record in records { state.apply(record) }
    }

    /// Removes the two folders (once the log holds what they held).
    func remove() throws {
        for directory in [outboxDirectory, requestsDirectory] where FileSystem.isDirectory(directory) { try FileSystem.removeTree(directory) }
    }

    private static func files(in directory: String) throws -> [String] {
        guard FileSystem.isDirectory(directory) else { return [] }
        return try FileSystem.list(directory).filter { !$0.hasPrefix(".") }
    }
}
