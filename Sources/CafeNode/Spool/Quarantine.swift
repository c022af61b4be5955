import CafeCore

/// `spool/quarantine/`: files that failed verification or parsing when loaded, kept (never
/// silently dropped) with a `.reason` file beside each.
struct Quarantine: Sendable {
    let directory: String

    /// Writes why, then moves `path` into quarantine beside its reason (so a quarantined file
    /// always has one, even after a crash between the two); returns a line for the log.
    func take(_ path: String, reason: String) throws -> String {
        let target = try reserve(FileSystem.basename(of: path), reason: reason)
        try FileSystem.move(path, to: target)
        return "quarantined \(path) to \(target): \(reason)"
    }

    /// Writes why, then `bytes` (what could not be used of a file, such as one record of
    /// `spool/node.log`) as `name` in quarantine; returns a line for the log.
    func keep(_ bytes: [UInt8], name: String, reason: String) throws -> String {
        let target = try reserve(name, reason: reason)
        try FileSystem.writeAtomically(bytes, to: target)
        return "quarantined \(target): \(reason)"
    }

    /// A free path for `name` in quarantine, with its reason already written beside it.
    private func reserve(_ name: String, reason: String) throws -> String {
        try FileSystem.makeDirectory(directory)
        var target = directory + "/" + name
        var suffix = 1
        while FileSystem.exists(target) || FileSystem.exists(target + ".reason") {
            target = directory + "/" + name + ".\(suffix)"
            suffix += 1
        }
        try FileSystem.writeAtomically(Array((reason + "\n").utf8), to: target + ".reason")
        return target
    }
}
