import CafeCore
import CafeWire
import Glibc

extension Node {
    /// Drop-box file names this node takes: what ``ScpTransport`` writes (`HEX.env`), or any
    /// `NAME.env` of letters, digits, `_ . -`. Names starting with `.` are files still arriving.
    static func isDropboxName(_ name: String) -> Bool {
        guard name.hasSuffix(".env"), !name.hasPrefix("."), name.utf8.count <= 128 else { return false }
        return Names.isValidRequest(String(name.dropLast(4)))
    }

    /// Looks at `dropbox/` once: every complete file with a recognised name (unchanged for a
    /// second) is verified like an envelope from the network and then deleted; one that is not a
    /// regular file, is too large or does not verify goes to quarantine with the reason. Files
    /// still arriving (`.NAME`) and unknown names are left alone, and nothing else is deleted.
    public func scanDropbox() async {
        let directory = identity.home.dropbox
        guard let names = try? FileSystem.list(directory) else { return }
        let now = clock.now()
        for name in names where !name.hasPrefix(".") {
            let path = directory + "/" + name
            guard Self.isDropboxName(name) else {
                if reportedDropboxNames.insert(name).inserted {
                    logger.warning("drop-box: '\(name)' is not a name this node takes; left alone")
                }
                continue
            }
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            let modified = Timestamp(milliseconds: Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000)
            if (info.st_mode & S_IFMT) == S_IFREG && now.seconds(since: modified) < 1 { continue }
            let envelope: Envelope
            do {
                guard (info.st_mode & S_IFMT) == S_IFREG else {
                    throw InputError(source: path, message: "is not a regular file (a symbolic link or a directory)")
                }
                let file = try FileSystem.read(path, maxBytes: DropboxFile.maxBytes, followLinks: false)
                let bytes = try DropboxFile.open(file, with: identity.key, source: "drop-box file \(name)")
                envelope = try Envelope.open(bytes, keys: identity.keys, source: "drop-box file \(name)")
            } catch {
                quarantineDropbox(path, reason: "\(error)")
                continue
            }
            await process(.envelope(OpenedEnvelope(envelope, keys: identity.keys), from: "dropbox"))
            do { try FileSystem.remove(path) } catch { logger.error("drop-box: cannot remove processed \(name): \(error)") }
        }
    }

    func quarantineDropbox(_ path: String, reason: String) {
        do {
            let problem = try disk.quarantine.take(path, reason: reason)
            logger.warning("drop-box: \(problem)")
        } catch {
            logger.error("drop-box: cannot quarantine \(path): \(error)")
        }
    }
}
