import CafeCore
import Glibc
import Testing

/// The built `cafe` and `cafe-node` binaries: next to the test bundle, or in `$CAFE_BIN_DIR`.
enum Binaries {
    static let directory: String = {
        if let override = getenv("CAFE_BIN_DIR") { return String(cString: override) }
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = String(decoding: buffer[0..<max(0, count)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var directory = FileSystem.parent(of: exe)
        // .build/debug/CafeBatchPackageTests.xctest is a file on Linux; be tolerant of bundles.
        while !FileSystem.exists(directory + "/cafe") && directory.count > 1 { directory = FileSystem.parent(of: directory) }
        return directory
    }()

    /// The package's directory (where Package.swift is), above the build directory.
    static let repository: String? = {
        var candidate = Binaries.directory
        while candidate.count > 1 {
            if FileSystem.exists(candidate + "/Package.swift") && FileSystem.exists(candidate + "/README.md") { return candidate }
            candidate = FileSystem.parent(of: candidate)
        }
        return nil
    }()

    static var cafe: String { directory + "/cafe" }
    static var cafeNode: String { directory + "/cafe-node" }
}

/// What a finished program printed and how it ended.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String

    /// The last stdout line (the executed batch file's path, by contract).
    var lastLine: String { stdout.split(separator: "\n").last.map(String.init) ?? "" }
}

/// Runs `cafe` with `arguments`, waiting for it to end (at most `timeout` seconds).
func cafe(_ arguments: [String], stdin: String? = nil, timeout: Double = 120, environment: [String] = []) -> Run {
    let outcome = POSIXSpawner().runBlocking(ProcessInvocation(
        arguments: [Binaries.cafe] + arguments,
        environment: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/nonexistent-home"] + environment,
        stdin: stdin.map { SecretBytes(Array($0.utf8)) }, timeout: timeout, outputCap: 64 << 20))
    let status: Int32
    switch outcome.termination {
    case .exited(let code): status = code
    case .signaled(let signal): status = 128 + signal
    case .failedToStart(let why):
        Issue.record("could not start cafe: \(why)")
        status = -1
    }
    return Run(status: status, stdout: outcome.stdout.displayText, stderr: outcome.stderr.displayText)
}

/// Every file under `directory`, as (path, bytes).
func allFiles(under directory: String) -> [(String, [UInt8])] {
    var result: [(String, [UInt8])] = []
    for name in (try? FileSystem.list(directory)) ?? [] {
        let path = directory + "/" + name
        if FileSystem.isDirectory(path) {
            result += allFiles(under: path)
        } else if let bytes = try? FileSystem.read(path, maxBytes: 256 << 20) {
            result.append((path, bytes))
        }
    }
    return result
}

extension Array where Element == UInt8 {
    func contains(_ needle: String) -> Bool {
        let pattern = Array(needle.utf8)
        guard !pattern.isEmpty, count >= pattern.count else { return false }
        for start in 0...(count - pattern.count) where self[start] == pattern[0] {
            if Array(self[start..<(start + pattern.count)]) == pattern { return true }
        }
        return false
    }
}
