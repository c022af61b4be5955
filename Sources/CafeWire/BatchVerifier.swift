import CafeCore
import CafeCrypto

/// The verdict on one signed thing in a file.
public struct Verdict: Sendable, Hashable {
    /// What was checked: `batch file (origin jlore)`, `activate_dialup[0] on monk1`.
    public var subject: String
    public var passed: Bool
    public var detail: String
    /// For a host's result that verified: the digest of the command-map entry the host says,
    /// under its signature, that it ran (nil for ad-hoc commands and older results).
    public var commandDigest: String? = nil
}

/// What `cafe verify` found.
public struct VerificationReport: Sendable {
    public var verdicts: [Verdict] = []
    /// True when every verdict passed (and there was at least one).
    public var passed: Bool { !verdicts.isEmpty && verdicts.allSatisfy(\.passed) }
}

/// Offline verification of executed batch files and single envelope files against known keys:
/// every signature, and that every result answers this batch, this request and this host.
public enum BatchVerifier {
    /// Verifies `bytes`, an executed batch file or one envelope. Throws ``InputError`` only when
    /// the file is not a CafeBatch file at all (unreadable YAML, no structure).
    public static func verify(_ bytes: [UInt8], keys: KeyRing, source: String) throws -> VerificationReport {
        if let parts = try? SignedText.split(bytes), EnvelopeKind(rawValue: parts.context) != nil {
            return verifyEnvelope(bytes, keys: keys, source: source)
        }
        // The origin's signature first: an executed batch file whose signature does not hold is
        // not parsed at all (verify first, parse only verified bytes), which also keeps hostile
        // files from costing more than a hash.
        let parts: SignedText.Parts
        let proof: SignerProof
        do {
            (parts, proof) = try SignedText.verify(bytes, keys: keys)
        } catch let error as EnvelopeError {
            if error.reason == .malformed, !looksLikeBatchFile(bytes) {
                throw InputError(source: source, message: "is not a CafeBatch executed batch file or envelope (\(error.detail))")
            }
            return VerificationReport(verdicts: [
                Verdict(subject: "batch file", passed: false, detail: "\(error); its contents were not read, since nothing in it can be trusted")
            ])
        }
        guard parts.context == Batch.signingContext else {
            return VerificationReport(verdicts: [
                Verdict(subject: "batch file", passed: false, detail: "signed as '\(parts.context)', not as an executed batch")
            ])
        }
        let batch = try Batch(executedYAML: bytes, source: source)
        var report = VerificationReport()
        guard parts.signer == batch.origin else {
            report.verdicts.append(
                Verdict(subject: "batch file", passed: false, detail: "signed by \(parts.signer), but its origin is \(batch.origin)"))
            return report
        }
        // The origin signs the file when the batch ends: its key must have been valid then.
        do {
            report.verdicts.append(Verdict(
                subject: "batch file", passed: true,
                detail: "signed by origin \(parts.signer) (\(try proof.checked(at: batch.finished ?? batch.created).basis))"))
        } catch {
            report.verdicts.append(Verdict(subject: "batch file", passed: false, detail: "\(error)"))
            return report
        }
        // Every host record, in file order; their signatures are checked on all cores.
        var records: [(record: HostRecord, index: Int, request: String, path: String)] = []
        for (index, request) in batch.requests.enumerated() {
            for record in request.records {
                records.append((record, index, request.name, "\(request.name)[\(index)]"))
            }
            for check in request.checks {
                for record in check.records {
                    records.append((
                        record, check.index, check.request,
                        "\(request.name)[\(index)] group \(check.group + 1) check \(check.request)[\(check.index)]"))
                }
            }
        }
        let batchID = batch.id.rawValue
        let origin = batch.origin
        for verdicts in records.concurrentMap({
            verify($0.record, batch: batchID, origin: origin, index: $0.index, request: $0.request, keys: keys, source: source, path: $0.path)
        }) {
            report.verdicts += verdicts
        }
        report.verdicts.append(consistency(batch))
        return report
    }

    /// Recomputes every request's state and the batch's from the host records (each record's
    /// state is checked against its signed result separately) and the delivery plan the file
    /// records, and refuses what no honest origin writes: a host listed twice, a host outside
    /// the plan or missing from it, a later group or request that ran although an earlier one
    /// did not succeed, and any stated request or batch state that the hosts do not give.
    /// (Leaves below a forwarding host are checked with its signed result.)
    public static func consistency(_ batch: Batch) -> Verdict {
        var problems: [String] = []
        var stopped = false
        for (index, request) in batch.requests.enumerated() {
            let label = "\(request.name)[\(index)]"
            var states: [String: HostState] = [:]
            for record in request.records {
                if states.updateValue(record.state, forKey: record.host) != nil {
                    problems.append("\(label) lists \(record.host) more than once")
                }
            }
            let expected: RequestState
            if stopped {
                expected = .skipped
                for record in request.records where record.state != .skipped {
                    problems.append("\(label) comes after a request that did not succeed, but \(record.host) is '\(record.state.rawValue)'")
                }
            } else {
                if let groups = request.groups {
                    let planned = Set(groups.allHosts)
                    for record in request.records where !planned.contains(record.host) {
                        problems.append("\(label): \(record.host) is not in the request's delivery plan (\(groups.map { $0.hosts.joined(separator: ",") }.joined(separator: " then ")))")
                    }
                    for host in groups.allHosts where states[host] == nil {
                        problems.append("\(label): planned host \(host) has no record")
                    }
                    let groups = groupVerdict(request, states: states, label: label)
                    problems += groups.problems
                    expected = groups.passed && (batch.cancelled == nil || request.state != .failed) ? .ok : .failed
                } else {
                    expected = RequestState(records: request.records)
                }
            }
            if request.state != expected {
                problems.append("the file says \(label) is '\(request.state.rawValue)' but its hosts make it '\(expected.rawValue)'")
            }
            if expected != .ok { stopped = true }
        }
        if batch.state == .done || batch.state == .error {
            let expected: BatchState = !batch.requests.isEmpty && !stopped ? .done : .error
            if batch.state != expected {
                problems.append("the file says the batch is '\(batch.state.rawValue)' but its requests make it '\(expected.rawValue)'")
            }
        } else {
            problems.append("the batch is '\(batch.state.rawValue)', not finished ('done' or 'error')")
        }
        return problems.isEmpty
            ? Verdict(subject: "states", passed: true, detail: "every request and batch state follows from the signed results and the delivery plan")
            : Verdict(subject: "states", passed: false, detail: problems.joined(separator: "; "))
    }

    /// The group checks a request's records must satisfy: nothing after a group that did not
    /// succeed ran, and each check ran on exactly the hosts of its group that succeeded; and
    /// whether every group succeeded (within its failure budget, its check passed on each host
    /// that succeeded).
    static func groupVerdict(_ request: Request, states: [String: HostState], label: String) -> (problems: [String], passed: Bool) {
        var problems: [String] = []
        var blocked = false
        for (index, group) in (request.groups ?? []).enumerated() {
            let check = request.checks.first { $0.group == index }
            if blocked {
                for host in group.hosts {
                    if let state = states[host], state != .skipped {
                        problems.append("\(label): \(host) is '\(state.rawValue)' although an earlier group did not succeed")
                    }
                }
                if check != nil { problems.append("\(label): group \(index + 1) ran its check although an earlier group did not succeed") }
                continue
            }
            if let check {
                let succeeded = Set(group.hosts.filter { states[$0] == .ok })
                let checked = Set(check.records.map(\.host))
                if group.check != check.request || checked != succeeded || checked.count != check.records.count {
                    problems.append("\(label): group \(index + 1)'s check must be \(group.check ?? "none") on \(succeeded.sorted().joined(separator: ",")), but the file has \(check.request) on \(check.records.map(\.host).joined(separator: ","))")
                }
            }
            if group.outcome(states, checks: check?.states) != .passed { blocked = true }
        }
        return (problems, !blocked)
    }

    /// Verifies one host record and, recursively, the leaves it forwarded to.
    static func verify(
        _ record: HostRecord, batch: String, origin: String, index: Int, request: String, keys: KeyRing, source: String,
        path: String
    ) -> [Verdict] {
        let subject = "\(path) on \(record.host)"
        guard let signed = record.signedResult else {
            switch record.state {
            case .ok, .denied:
                // Success, or a host's own refusal, is only ever shown with the host's signature.
                return [Verdict(subject: subject, passed: false, detail: "claims '\(record.state.rawValue)' but carries no signed result")]
            case .failed:
                // The origin's own account (the request could not be prepared or sent, or the
                // host refused it on arrival): not a claim about what the host ran.
                return [Verdict(subject: subject, passed: true, detail: "failed by the origin's account (\(record.note ?? "no note")): no result to verify")]
            default:
                return [Verdict(subject: subject, passed: true, detail: "\(record.state.rawValue): no result to verify")]
            }
        }
        let envelope: Envelope
        do {
            envelope = try Envelope.open(Array(signed.utf8), keys: keys, source: "\(source): result of \(subject)")
        } catch {
            return [Verdict(subject: subject, passed: false, detail: "\(error)")]
        }
        guard case .result(let body) = envelope.body else {
            return [Verdict(subject: subject, passed: false, detail: "holds a \(envelope.header.kind.rawValue) envelope, not a result")]
        }
        var problems: [String] = []
        if envelope.header.sender != record.host { problems.append("signed by \(envelope.header.sender), not by \(record.host)") }
        if body.result.host != record.host { problems.append("answers for host \(body.result.host)") }
        if body.batch != batch { problems.append("answers batch \(body.batch)") }
        if body.index != index || body.request != request { problems.append("answers request \(body.request)[\(body.index)]") }
        if envelope.header.origin != origin { problems.append("was made for origin \(envelope.header.origin)") }
        if body.result.state != record.state {
            problems.append("the file says '\(record.state.rawValue)' but the signed result says '\(body.result.state.rawValue)'")
        }
        var leafHosts = Set<String>()
        var leafStates: [String: HostState] = [:]
        for leaf in body.result.leaves {
            if !leafHosts.insert(leaf.host).inserted { problems.append("lists leaf \(leaf.host) more than once") }
            leafStates[leaf.host] = leaf.state
        }
        // With the groups it signed (rules or checks), a forwarding host's `ok` must follow from
        // them: budgets, and checks it asked in its own name. Without, every leaf must be `ok`.
        let groups = body.result.leafGroups
        if body.result.state == .ok && !groups.isEmpty {
            var passed = Set(groups.allHosts) == leafHosts
            for (index, group) in groups.enumerated() {
                let check = body.result.leafChecks.first { $0.group == index }
                if group.outcome(leafStates, checks: check?.states) != .passed { passed = false }
            }
            if !passed { problems.append("says 'ok' but its leaves and their checks do not make its groups succeed") }
        } else if body.result.state == .ok {
            for leaf in body.result.leaves where leaf.state != .ok {
                problems.append("says 'ok' but its leaf \(leaf.host) is '\(leaf.state.rawValue)'")
            }
        }
        let digest = body.result.commandDigest
        var verdicts = [
            problems.isEmpty
                ? Verdict(
                    subject: subject, passed: true,
                    detail: "\(body.result.state.rawValue), signed by \(record.host) (\(envelope.signer?.basis ?? "?"))"
                        + (digest.map { "; ran command-map entry \($0)" } ?? ""),
                    commandDigest: digest)
                : Verdict(subject: subject, passed: false, detail: problems.joined(separator: "; "))
        ]
        for leaf in body.result.leaves {
            verdicts += verify(
                leaf, batch: batch, origin: origin, index: index, request: request, keys: keys, source: source,
                path: "\(path) via \(record.host)")
        }
        // Checks a forwarding host asked in its own name: signed for it, not for the origin.
        for check in body.result.leafChecks {
            for leaf in check.records {
                verdicts += verify(
                    leaf, batch: batch, origin: record.host, index: check.index, request: check.request, keys: keys, source: source,
                    path: "\(path) via \(record.host) group \(check.group + 1) check \(check.request)[\(check.index)]")
            }
        }
        return verdicts
    }

    /// A cheap look at the first bytes, to tell "not our file" (exit 2) from "our file, broken" (exit 1).
    static func looksLikeBatchFile(_ bytes: [UInt8]) -> Bool {
        let head = String(decoding: bytes.prefix(512), as: UTF8.self)
        return head.contains("\nbatch: ") || head.hasPrefix("batch: ") || head.hasPrefix("# CafeBatch")
    }

    static func verifyEnvelope(_ bytes: [UInt8], keys: KeyRing, source: String) -> VerificationReport {
        do {
            let envelope = try Envelope.open(bytes, keys: keys, source: source)
            let header = envelope.header
            return VerificationReport(verdicts: [
                Verdict(
                    subject: "\(header.kind.rawValue) envelope \(header.id)", passed: true,
                    detail: "signed by \(header.sender) (\(envelope.signer?.basis ?? "?")), from \(header.origin) to \(header.target)")
            ])
        } catch {
            return VerificationReport(verdicts: [Verdict(subject: "envelope", passed: false, detail: "\(error)")])
        }
    }
}
