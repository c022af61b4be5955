import CafeCore
import CafeCrypto

/// The verdict on one signed thing in a file.
public struct Verdict: Sendable, Hashable {
    /// What was checked: `batch file (origin jlore)`, `activate_dialup[0] on monk1`.
    public var subject: String
    public var passed: Bool
    public var detail: String
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
        do {
            parts = try SignedText.verify(bytes, keys: keys)
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
        report.verdicts.append(Verdict(
            subject: "batch file", passed: true,
            detail: "signed by origin \(parts.signer) (key \(keys[parts.signer]?.fingerprint ?? "?"))"))
        for (index, request) in batch.requests.enumerated() {
            for record in request.records {
                report.verdicts.append(contentsOf: verify(
                    record, batch: batch.id.rawValue, origin: batch.origin, index: index, request: request.name,
                    keys: keys, source: source, path: "\(request.name)[\(index)]"))
            }
        }
        return report
    }

    /// Verifies one host record and, recursively, the leaves it forwarded to.
    static func verify(
        _ record: HostRecord, batch: String, origin: String, index: Int, request: String, keys: KeyRing, source: String,
        path: String
    ) -> [Verdict] {
        let subject = "\(path) on \(record.host)"
        guard let signed = record.signedResult else {
            switch record.state {
            case .ok, .failed, .denied:
                return [Verdict(subject: subject, passed: false, detail: "claims '\(record.state.rawValue)' but carries no signed result")]
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
        var verdicts = [
            problems.isEmpty
                ? Verdict(subject: subject, passed: true, detail: "\(body.result.state.rawValue), signed by \(record.host) (key \(keys[record.host]?.fingerprint ?? "?"))")
                : Verdict(subject: subject, passed: false, detail: problems.joined(separator: "; "))
        ]
        for leaf in body.result.leaves {
            verdicts += verify(
                leaf, batch: batch, origin: origin, index: index, request: request, keys: keys, source: source,
                path: "\(path) via \(record.host)")
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
                    detail: "signed by \(header.sender) (key \(keys[header.sender]?.fingerprint ?? "?")), from \(header.origin) to \(header.target)")
            ])
        } catch {
            return VerificationReport(verdicts: [Verdict(subject: "envelope", passed: false, detail: "\(error)")])
        }
    }
}
