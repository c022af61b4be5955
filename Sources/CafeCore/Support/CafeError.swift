/// An error that tells the CLI which exit status it stands for.
///
/// Exit statuses are part of the interface contract: 1 a command failed, a host gave no answer
/// or verification failed; 2 bad usage, config or input file; 3 the local node is not running.
public protocol ExitCoded: Error {
    /// The process exit status this error maps to.
    var exitStatus: Int32 { get }
}

extension InputError: ExitCoded {
    public var exitStatus: Int32 { 2 }
}

/// A failure of the machine or environment rather than of the input: a file that cannot be
/// written, a program that cannot be started, a directory that is missing.
public struct EnvironmentError: Error, Sendable, CustomStringConvertible, ExitCoded {
    public var message: String
    public var exitStatus: Int32

    public init(_ message: String, exitStatus: Int32 = 1) {
        self.message = message
        self.exitStatus = exitStatus
    }

    public var description: String { message }
}
