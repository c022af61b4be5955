import CafeCore
import CafeCrypto

/// The form of an envelope in a drop-box: `CAFE-SEALED-1\n`, then the signed envelope sealed
/// to the recipient (``SealedBox``). An SSH server, a relay's disk or a USB stick in between
/// shows nothing of it but its size; only the recipient opens it, and then verifies the
/// envelope inside as if it had come over a link.
public enum DropboxFile {
    static let magic = Array("CAFE-SEALED-1\n".utf8)

    /// Largest drop-box file: the largest envelope, sealed.
    public static let maxBytes = EnvelopeLimits.maxBytes + magic.count + SealedBox.overhead

    /// `envelope` (its signed bytes) sealed to `recipient`.
    public static func seal(_ envelope: [UInt8], to recipient: PublicKey) throws -> [UInt8] {
        magic + (try SealedBox.seal(envelope, to: recipient))
    }

    /// The envelope bytes inside a drop-box file sealed to `key`'s node.
    public static func open(_ file: [UInt8], with key: SigningKey, source: String) throws -> [UInt8] {
        guard file.starts(with: magic) else {
            throw InputError(source: source, message: "is not a sealed drop-box file (CAFE-SEALED-1)", hint: "drop-box files are sealed to their recipient; plain envelopes are not taken")
        }
        guard let envelope = try SealedBox.open(Array(file[magic.count...]), with: key) else {
            throw InputError(source: source, message: "was not sealed to this node's key, or was altered")
        }
        return envelope
    }
}
