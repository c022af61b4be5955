import CafeCore
import CafeWire

extension VerificationReport {
    /// `cafe verify --json`: one JSON object,
    /// `{"file": PATH, "verified": BOOL, "checks": N, "failed": N, "verdicts": [{"subject", "passed", "detail", "command-digest"?}]}`
    /// (docs/cli.md, "JSON output").
    public func json(file: String) -> String {
        JSONText.encode(.map([
            YAMLPair("file", .string(file)),
            YAMLPair("verified", .bool(passed)),
            YAMLPair("checks", .int(verdicts.count)),
            YAMLPair("failed", .int(verdicts.filter { !$0.passed }.count)),
            YAMLPair("verdicts", .list(verdicts.map {
                .map([YAMLPair("subject", .string($0.subject)), YAMLPair("passed", .bool($0.passed)), YAMLPair("detail", .string($0.detail))]
                    + ($0.commandDigest.map { [YAMLPair("command-digest", .string($0))] } ?? []))
            })),
        ])) + "\n"
    }
}
