import ArgumentParser
import CafeCore
import CafeNode
import Glibc

/// Runs `input` on this host alone and prints the summary table (stderr) and the executed
/// batch file's path (the last stdout line). Exit 1 unless every request succeeded.
func runLocally(_ input: BatchInput, home: NodeHome) async throws {
    let identity = try NodeIdentity.load(home: home)
    let run = LocalRun(identity: identity, progress: note)
    let (batch, path) = try await run.run(input)
    let report = BatchReport(batch: batch, keys: identity.keys)
    note("")
    StandardError.write(report.table())
    print(path)
    if batch.state != .done { throw ExitCode(1) }
}

/// Reads a batch file given on the command line; `-` is stdin.
func readBatchInput(_ path: String) throws -> BatchInput {
    let bytes: [UInt8]
    if path == "-" {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(0, &buffer, buffer.count)
            if count <= 0 { break }
            data.append(contentsOf: buffer[0..<count])
            guard data.count <= YAMLLimits.batchFile.maxBytes else {
                throw InputError(source: "stdin", message: "is over the limit of \(YAMLLimits.batchFile.maxBytes) bytes")
            }
        }
        bytes = data
    } else {
        guard FileSystem.exists(path) else { throw InputError(source: path, message: "not found") }
        bytes = try FileSystem.read(path, maxBytes: YAMLLimits.batchFile.maxBytes)
    }
    return try BatchInput(yaml: bytes, source: path == "-" ? "stdin" : path)
}
