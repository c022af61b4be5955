import CafeCore

/// `spool/quarantine/`: files that failed verification or parsing when loaded, kept (never
/// silently dropped) with a `.reason` file beside each.
struct Quarantine {
    let directory: String

    /// Moves `path` into quarantine and writes why; returns a line for the log.
    func take(_ path: String, reason: String) throws -> String {
        try FileSystem.makeDirectory(directory)
        var target = directory + "/" + FileSystem.basename(of: path)
        var suffix = 1
        while FileSystem.exists(target) || FileSystem.exists(target + ".reason") {
            target = directory + "/" + FileSystem.basename(of: path) + ".\(suffix)"
            suffix += 1
        }
        try FileSystem.move(path, to: target)
        try FileSystem.writeAtomically(Array((reason + "\n").utf8), to: target + ".reason")
        return "quarantined \(path) to \(target): \(reason)"
    }
}
