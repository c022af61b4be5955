import CafeCore

/// `spool/quarantine/`: files that failed verification or parsing when loaded, kept (never
/// silently dropped) with a `.reason` file beside each.
struct Quarantine: Sendable {
    let directory: String

    /// Writes why, then moves `path` into quarantine beside its reason (so a quarantined file
    /// always has one, even after a crash between the two); returns a line for the log.
    func take(_ path: String, reason: String) throws -> String {
        try FileSystem.makeDirectory(directory)
        var target = directory + "/" + FileSystem.basename(of: path)
        var suffix = 1
        while FileSystem.exists(target) || FileSystem.exists(target + ".reason") {
            target = directory + "/" + FileSystem.basename(of: path) + ".\(suffix)"
            suffix += 1
        }
        try FileSystem.writeAtomically(Array((reason + "\n").utf8), to: target + ".reason")
        try FileSystem.move(path, to: target)
        return "quarantined \(path) to \(target): \(reason)"
    }
}
