import CafeCore

/// A key, signature or sealed value that cannot be used.
public struct CryptoError: Error, Sendable, CustomStringConvertible, ExitCoded {
    public var message: String
    public var exitStatus: Int32

    public init(_ message: String, exitStatus: Int32 = 2) {
        self.message = message
        self.exitStatus = exitStatus
    }

    public var description: String { message }
}
