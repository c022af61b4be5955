/// One program to run on one host, with its limits, and its result once it has run.
///
/// ```swift
/// var command = Command.shell("echo hello")
/// let result = await command.run()
/// // result.termination == .exited(0), command.result == result
/// ```
public struct Command: Sendable, Hashable {
    /// Seconds a command may run before its whole process group is killed: 300.
    public static let defaultTimeout: Double = 300
    /// Bytes of stdout, and separately of stderr, kept per command: 1 MiB.
    public static let defaultOutputCap = 1 << 20

    public var spec: CommandSpec
    public var timeout: Double
    public var outputCap: Int
    /// The result of the last ``run(in:runner:)``.
    public private(set) var result: CommandResult?

    public init(_ spec: CommandSpec, timeout: Double = Command.defaultTimeout, outputCap: Int = Command.defaultOutputCap) {
        self.spec = spec
        self.timeout = timeout
        self.outputCap = outputCap
    }

    /// A command run as `/bin/sh -c text`.
    public static func shell(_ text: String) -> Command { Command(.shell(text)) }

    /// A command run from an argv list, without a shell.
    public static func argv(_ argv: [String]) -> Command { Command(.argv(argv)) }

    /// Runs the command, keeps the result in ``result`` and returns it.
    @discardableResult
    public mutating func run(in context: RunContext = RunContext(), runner: CommandRunner = CommandRunner()) async -> CommandResult {
        let outcome = await runner.run(self, in: context)
        result = outcome
        return outcome
    }
}
