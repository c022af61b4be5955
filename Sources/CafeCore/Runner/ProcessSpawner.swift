/// One program to start, with everything it gets and the limits it runs under.
public struct ProcessInvocation: Sendable {
    /// `arguments[0]` is the program; looked up in `PATH` when it contains no `/`.
    public var arguments: [String]
    /// `NAME=value` entries: the program's whole environment.
    public var environment: [String]
    /// Written to the program's stdin, which is then closed. Wiped after use.
    public var stdin: SecretBytes?
    /// Seconds before the whole process group gets SIGTERM.
    public var timeout: Double
    /// Seconds between SIGTERM and SIGKILL once the timeout has passed.
    public var killGrace: Double
    /// Bytes kept of stdout, and separately of stderr.
    public var outputCap: Int
    /// Seconds to keep reading output after the program exited while something it started in
    /// the background still holds the pipes open.
    public var drainGrace: Double

    public init(
        arguments: [String], environment: [String], stdin: SecretBytes? = nil,
        timeout: Double, killGrace: Double = 2, outputCap: Int, drainGrace: Double = 2
    ) {
        self.arguments = arguments
        self.environment = environment
        self.stdin = stdin
        self.timeout = timeout
        self.killGrace = killGrace
        self.outputCap = outputCap
        self.drainGrace = drainGrace
    }
}

/// How a started program ended, and what it wrote.
public struct ProcessOutcome: Sendable {
    public var termination: Termination
    public var timedOut: Bool
    public var started: Timestamp
    public var duration: Double
    public var stdout: CapturedOutput
    public var stderr: CapturedOutput
    public var note: String?

    public init(
        termination: Termination, timedOut: Bool = false, started: Timestamp, duration: Double,
        stdout: CapturedOutput = CapturedOutput(), stderr: CapturedOutput = CapturedOutput(), note: String? = nil
    ) {
        self.termination = termination
        self.timedOut = timedOut
        self.started = started
        self.duration = duration
        self.stdout = stdout
        self.stderr = stderr
        self.note = note
    }
}

/// Starts programs. The real one is ``POSIXSpawner``; tests inject their own.
public protocol ProcessSpawner: Sendable {
    func run(_ invocation: ProcessInvocation) async -> ProcessOutcome
}
