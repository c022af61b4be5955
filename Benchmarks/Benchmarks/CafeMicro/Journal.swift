import Benchmark
import CafeCore
import CafeNode
import CafeWire
import Glibc
import Samples

/// `BatchJournal.append` with its `fdatasync`, into a fresh journal in a temporary directory:
/// one result record (a host's signed three-command result, as an origin journals it), and ten
/// in one append, which is what one sync for ten hosts (group commit) would cost.
func journalBenchmarks() {
    let signed = Envelope.seal(header: ResultSample.header, body: ResultSample.threeCommands, key: ResultSample.key)
    guard case .result(let body) = signed.body else { preconditionFailure("the sample is a result") }
    let record = JournalRecord.result(request: 0, host: "monk1", signed: signed.text, result: body.result)
    for count in [1, 10] {
        let scratch = ScratchJournal()
        let records = Array(repeating: record, count: count)
        Benchmark(
            "journal-append-\(count)", configuration: .cafe(time: 150, counts: 2),
            closure: { _ throws in try scratch.journal!.append(records) },
            setup: { try scratch.make() }, teardown: { scratch.remove() })
    }
}

/// A journal in a directory of its own under `$TMPDIR` (or /tmp), made before a benchmark's
/// iterations and removed after them.
final class ScratchJournal {
    private(set) var journal: BatchJournal?
    private var directory = ""

    func make() throws {
        var template = Array(((getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp") + "/cafe-micro-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw EnvironmentError("cannot make a temporary directory") }
        directory = String(cString: made)
        journal = try BatchJournal(path: directory + "/batch.journal")
    }

    func remove() {
        unlink(directory + "/batch.journal")
        rmdir(directory)
    }
}
