import CafeCore
import CafeCrypto

extension Batch {
    /// The signing context of executed batch files.
    public static let signingContext = "executed-batch"

    /// The executed batch file, signed by the origin over its exact bytes, so that an edit
    /// anywhere in it (request data, states, notes) is detected by `cafe verify`. Each host's
    /// result inside carries its own host's signature.
    /// The origin's `credentials` travel in the signed file, so it verifies with only a fleet key.
    public func signedExecutedYAML(key: SigningKey, credentials: Credentials? = nil) -> [UInt8] {
        SignedText.sign(executedYAML, context: Self.signingContext, signer: origin, key: key, credentials: credentials)
    }
}
