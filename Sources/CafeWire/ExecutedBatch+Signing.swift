import CafeCore
import CafeCrypto

extension Batch {
    /// The signing context of executed batch files.
    public static let signingContext = "executed-batch"

    /// The executed batch file, signed by the origin over its exact bytes, so that an edit
    /// anywhere in it (request data, states, notes) is detected by `cafe verify`. Each host's
    /// result inside carries its own host's signature.
    public func signedExecutedYAML(key: SigningKey) -> [UInt8] {
        SignedText.sign(executedYAML, context: Self.signingContext, signer: origin, key: key)
    }
}
