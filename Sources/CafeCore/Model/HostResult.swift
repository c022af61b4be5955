/// Where one (request, host) pair stands. Persisted and shown as the lower-case words.
public enum HostState: String, Sendable, Hashable, CaseIterable {
    /// Waiting to be sent (its group has not started, or the host is unreachable for now).
    case queued
    /// Handed to the host or its route; no acknowledgement yet.
    case sent
    /// The host acknowledged it and is running it.
    case running
    /// Every command exited 0.
    case ok
    /// A command failed, could not start or timed out, or the host could not run the request.
    case failed
    /// The host's trust rules refused the request; nothing ran.
    case denied
    /// The host did not answer before the batch's timeout.
    case noAnswer = "no-answer"
    /// The request expired before it could be delivered; it will never run.
    case expired
    /// Never sent because an earlier group or request failed.
    case skipped

    /// No further change will happen.
    public var isFinal: Bool {
        switch self {
        case .queued, .sent, .running: false
        default: true
        }
    }

}

/// What a host reports for one request: its verdict and every command it ran.
/// This is the part a host signs (see `CafeWire`).
public struct HostResult: Sendable, Hashable {
    public var host: String
    public var state: HostState
    /// Why the host could not run the request, or was denied.
    public var message: String?
    public var commands: [CommandResult]
    /// Results of hosts this host forwarded the request to (hierarchical delivery), each
    /// signed by its own host.
    public var leaves: [HostRecord]
    /// The groups (with their rules) the leaves ran in, so a verifier can recompute an `ok`
    /// that tolerated failed leaves within a budget.
    public var leafGroups: [HostGroup]
    /// The checks of those groups, asked by this host in its own name, each host's signed result.
    public var leafChecks: [GroupCheck]
    /// The digest (`sha256:HEX`) of the command-map entry the host used for the request, so a
    /// signed result proves which commands ran, not only their output; nil for ad-hoc
    /// commands, and in results written before digests were recorded.
    public var commandDigest: String?

    public init(
        host: String, state: HostState, message: String? = nil, commands: [CommandResult] = [],
        leaves: [HostRecord] = [], leafGroups: [HostGroup] = [], leafChecks: [GroupCheck] = [], commandDigest: String? = nil
    ) {
        self.host = host
        self.state = state
        self.message = message
        self.commands = commands
        self.leaves = leaves
        self.leafGroups = leafGroups
        self.leafChecks = leafChecks
        self.commandDigest = commandDigest
    }
}

/// The origin's record of one host for one request: the state it reached, a note from the
/// origin (`no answer within 30 s`), and the host's result, with the host's signed text when
/// the result came signed.
public struct HostRecord: Sendable, Hashable {
    public var host: String
    public var state: HostState
    public var note: String?
    public var result: HostResult?
    /// The signed result envelope exactly as received; proves ``result``.
    public var signedResult: String?

    public init(host: String, state: HostState, note: String? = nil, result: HostResult? = nil, signedResult: String? = nil) {
        self.host = host
        self.state = state
        self.note = note
        self.result = result
        self.signedResult = signedResult
    }
}

extension HostResult {
    /// Output bytes one result may carry in all: 8 MiB, so that its signed envelope (with
    /// binary output in base64) stays under the 16 MiB envelope limit.
    public static let maxOutputBytes = 8 << 20

    /// This result with its captured output trimmed, if need be, so that all streams together
    /// hold at most `budget` bytes: every stream is cut to the same length (the largest that
    /// fits), the cut bytes are counted as dropped, and a note says so.
    public func fitted(toOutputBytes budget: Int = HostResult.maxOutputBytes) -> HostResult {
        let sizes = commands.flatMap { [$0.stdout.bytes.count, $0.stderr.bytes.count] }
        guard sizes.reduce(0, +) > budget else { return self }
        var low = 0, high = sizes.max() ?? 0
        while low < high {
            let middle = (low + high + 1) / 2
            if sizes.reduce(0, { $0 + min($1, middle) }) <= budget { low = middle } else { high = middle - 1 }
        }
        let cap = low
        var copy = self
        for index in copy.commands.indices {
            var trimmed = false
            for path in [\CommandResult.stdout, \CommandResult.stderr] {
                let output = copy.commands[index][keyPath: path]
                guard output.bytes.count > cap else { continue }
                copy.commands[index][keyPath: path] = CapturedOutput(
                    bytes: Array(output.bytes.prefix(cap)), droppedBytes: output.droppedBytes + output.bytes.count - cap)
                trimmed = true
            }
            guard trimmed else { continue }
            let note = "output trimmed to \(cap) bytes per stream so the whole result fits in one envelope"
            copy.commands[index].note = copy.commands[index].note.map { $0 + "; " + note } ?? note
        }
        return copy
    }
}
