import Glibc

/// The few filesystem operations CafeBatch needs, with the durability rule built in:
/// a file is written to a temporary name, fsynced, renamed into place, and the directory is
/// fsynced, so after a crash it is either the old file or the whole new one.
public enum FileSystem {
    /// The first `count` bytes of a regular file (fewer if it is shorter).
    public static func readPrefix(_ path: String, count: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot read", path, exitStatus: 2) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, count - filled) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { break }
            filled += got
        }
        return Array(bytes.prefix(filled))
    }

    /// Reads a whole file, refusing files over `maxBytes` before reading them. A symbolic link
    /// is followed unless `followLinks` is false (drop-box files, which come from outside).
    public static func read(_ path: String, maxBytes: Int, followLinks: Bool = true) throws -> [UInt8] {
        // Files from outside (no links followed) are opened non-blocking, so that a FIFO put in
        // place of a file cannot stall the reader; it is then refused as not a regular file.
        let fd = open(path, O_RDONLY | O_CLOEXEC | (followLinks ? 0 : O_NOFOLLOW | O_NONBLOCK))
        guard fd >= 0 else { throw failure("cannot read", path, exitStatus: 2) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure("cannot read", path) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw EnvironmentError("cannot read \(path): not a regular file", exitStatus: 2)
        }
        guard Int(info.st_size) <= maxBytes else {
            throw InputError(
                source: path, message: "is \(info.st_size) bytes, over the limit of \(maxBytes) bytes",
                hint: "nothing was read from it")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.st_size))
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("cannot read", path)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            guard bytes.count <= maxBytes else {
                throw InputError(source: path, message: "grew over the limit of \(maxBytes) bytes while being read")
            }
        }
        return bytes
    }

    /// Writes `bytes` to `path` atomically and durably (temporary file, fsync, rename, fsync of
    /// the directory). The file gets `mode`.
    public static func writeAtomically(_ bytes: some Collection<UInt8>, to path: String, mode: mode_t = 0o600) throws {
        try place(bytes, at: path, mode: mode)
        try syncDirectory(parent(of: path))
    }

    /// Writes several new files into `directory` as ``writeAtomically(_:to:mode:)`` does, then
    /// creates the empty `markers` (after the files), with one fsync of the directory for all of
    /// them: each file is whole or absent after a crash, and all are durable when this returns.
    /// When it throws, none of the files is left in place.
    public static func writeAtomically(
        _ files: [(bytes: [UInt8], name: String)], markers: [String] = [], in directory: String, mode: mode_t = 0o600
    ) throws {
        guard !files.isEmpty || !markers.isEmpty else { return }
        var placed: [String] = []
        do {
            for file in files {
                try place(file.bytes, at: directory + "/" + file.name, mode: mode)
                placed.append(directory + "/" + file.name)
            }
            for marker in markers { try touch(directory + "/" + marker, mode: mode) }
            try syncDirectory(directory)
        } catch {
            for path in placed { unlink(path) }
            throw error
        }
    }

    /// A temporary file written and flushed, then renamed to `path` (the rename not yet durable).
    private static func place(_ bytes: some Collection<UInt8>, at path: String, mode: mode_t) throws {
        let directory = parent(of: path)
        let temporary = directory + "/." + basename(of: path) + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw failure("cannot create", temporary) }
        var closed = false
        defer {
            if !closed { close(fd) }
        }
        do {
            try writeAll(fd: fd, bytes, path: temporary)
            guard fsync(fd) == 0 else { throw failure("cannot flush", temporary) }
            closed = true
            guard close(fd) == 0 else { throw failure("cannot close", temporary) }
            guard rename(temporary, path) == 0 else { throw failure("cannot rename into", path) }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// Creates the empty file `path` (if missing) and makes its name durable: one sync of the
    /// directory, none of the file, which holds nothing. For markers that must survive a crash.
    public static func createDurably(_ path: String, mode: mode_t = 0o600) throws {
        try touch(path, mode: mode)
        try syncDirectory(parent(of: path))
    }

    /// Creates the empty file `path` (if missing) without syncing anything: for markers whose
    /// loss in a crash costs only work done again.
    public static func touch(_ path: String, mode: mode_t = 0o600) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw failure("cannot create", path) }
        close(fd)
    }

    /// Moves a file within one filesystem and makes the move durable.
    public static func move(_ from: String, to: String) throws {
        guard rename(from, to) == 0 else { throw failure("cannot move \(from) to", to) }
        try syncDirectory(parent(of: to))
        let fromDirectory = parent(of: from)
        if fromDirectory != parent(of: to) { try syncDirectory(fromDirectory) }
    }

    /// Removes a file and makes the removal durable; a missing file is not an error.
    /// Removes `path` (nothing if it is missing); `synced`: the removal survives a crash.
    public static func remove(_ path: String, synced: Bool = true) throws {
        if unlink(path) != 0 && errno != ENOENT { throw failure("cannot remove", path) }
        if synced { try syncDirectory(parent(of: path)) }
    }

    /// Makes a new directory `/tmp/PREFIX-` plus six random characters (`mkdtemp`, mode 0700)
    /// and returns its path.
    public static func makeTemporaryDirectory(_ prefix: String) throws -> String {
        // mkdtemp's template: the last six characters are replaced.
        var template = Array(("/tmp/" + prefix + "-" + String(repeating: "X", count: 6)).utf8CString)
        guard mkdtemp(&template) != nil else { throw failure("cannot make a temporary directory like", "/tmp/" + prefix) }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Removes `path` and everything under it (nothing if it is missing; links are not followed).
    public static func removeTree(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for name in try list(path) { try removeTree(path + "/" + name) }
            guard rmdir(path) == 0 else { throw failure("cannot remove", path) }
        } else {
            try remove(path, synced: false)
        }
    }

    /// Creates `path` and its missing parents with `mode`.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws {
        if isDirectory(path) { return }
        let up = parent(of: path)
        if up != path && !up.isEmpty && !isDirectory(up) { try makeDirectory(up, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST { throw failure("cannot create directory", path) }
    }

    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Permission bits of `path` (of the file a symbolic link points to).
    public static func mode(of path: String) throws -> mode_t {
        var info = stat()
        guard stat(path, &info) == 0 else { throw failure("cannot inspect", path) }
        return info.st_mode & 0o7777
    }

    /// Names in `directory` (not `.` or `..`), sorted.
    public static func list(_ directory: String) throws -> [String] {
        guard let handle = opendir(directory) else { throw failure("cannot list", directory) }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// fsync of a directory, so that renames and creations in it survive a crash.
    public static func syncDirectory(_ path: String) throws {
        let fd = open(path.isEmpty ? "." : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot open directory", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure("cannot flush directory", path) }
    }

    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    public static func basename(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// The current working directory.
    public static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `path` made absolute against the current directory.
    public static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : currentDirectory() + "/" + path
    }

    /// Appends `bytes` to the file open as `fd` (opened with `O_APPEND`) and flushes them to
    /// disk before returning (journals, the seen-set).
    public static func appendDurably(fd: Int32, _ bytes: [UInt8], path: String) throws {
        try append(fd: fd, bytes, path: path)
        guard fdatasync(fd) == 0 else { throw failure("cannot flush", path) }
    }

    /// Flushes the data written to `path` so far to disk (a file appended to without flushing).
    public static func flush(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure("cannot open", path) }
        defer { close(fd) }
        guard fdatasync(fd) == 0 else { throw failure("cannot flush", path) }
    }

    /// Appends `bytes` to the file open as `fd` (opened with `O_APPEND`), without flushing: the
    /// next flush of the file covers them.
    public static func append(fd: Int32, _ bytes: [UInt8], path: String) throws {
        try writeAll(fd: fd, bytes, path: path)
    }

    static func writeAll(fd: Int32, _ bytes: some Collection<UInt8>, path: String) throws {
        let array = Array(bytes)
        var offset = 0
        while offset < array.count {
            let written = array.withUnsafeBytes { write(fd, $0.baseAddress! + offset, array.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("cannot write", path)
            }
            offset += written
        }
    }

    static func failure(_ what: String, _ path: String, exitStatus: Int32 = 1) -> EnvironmentError {
        EnvironmentError("\(what) \(path): \(String(cString: strerror(errno)))", exitStatus: exitStatus)
    }
}
