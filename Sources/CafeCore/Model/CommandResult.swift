/// How a command ended.
public enum Termination: Sendable, Hashable {
    /// The program exited with this status.
    case exited(Int32)
    /// The program was terminated by this signal.
    case signaled(Int32)
    /// The program could not be started; the text says why.
    case failedToStart(String)
}

/// Everything known about one run of one command.
public struct CommandResult: Sendable, Hashable {
    /// What ran, after placeholder substitution.
    public var command: CommandSpec
    public var termination: Termination
    /// Set when the command was killed for running longer than this many seconds.
    public var timedOutAfter: Double?
    /// When the program was started.
    public var started: Timestamp
    /// Seconds from start until it was reaped.
    public var duration: Double
    public var stdout: CapturedOutput
    public var stderr: CapturedOutput
    /// Anything else the runner has to say (for example that a background process kept the
    /// output pipes open after the command exited).
    public var note: String?

    public init(
        command: CommandSpec, termination: Termination, timedOutAfter: Double? = nil, started: Timestamp,
        duration: Double, stdout: CapturedOutput = CapturedOutput(), stderr: CapturedOutput = CapturedOutput(),
        note: String? = nil
    ) {
        self.command = command
        self.termination = termination
        self.timedOutAfter = timedOutAfter
        self.started = started
        self.duration = duration
        self.stdout = stdout
        self.stderr = stderr
        self.note = note
    }

    /// Exit status 0 and not timed out.
    public var succeeded: Bool { termination == .exited(0) && timedOutAfter == nil }

    /// `exit 0`, `signal SIGKILL`, `timed out after 300 s (SIGTERM)`, `not started: …`.
    public var outcomeSummary: String {
        var text: String
        switch termination {
        case .exited(let status): text = "exit \(status)"
        case .signaled(let signal): text = "signal \(SignalNames.name(signal))"
        case .failedToStart(let why): text = "not started: \(why)"
        }
        if let limit = timedOutAfter { text = "timed out after \(YAMLEmitter.formatSeconds(limit)) s (\(text))" }
        return text
    }
}

/// Names for the Linux signal numbers, for people reading results.
public enum SignalNames {
    static let names: [Int32: String] = [
        1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
        8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
        14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP",
        20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ",
        26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
    ]

    /// `SIGKILL` for 9; the number itself for signals without a name.
    public static func name(_ number: Int32) -> String { names[number] ?? String(number) }

    /// The number for `SIGKILL` or `9`.
    public static func number(_ text: String) -> Int32? {
        if let value = Int32(text), value > 0, value < 65 { return value }
        return names.first { $0.value == text }?.key
    }
}
