import Glibc

/// Bytes that must not linger: a secret value in clear, or the stdin text that carries it.
/// The storage is wiped with `explicit_bzero` when the last reference goes away.
///
/// This is best effort: Swift strings made from the same bytes elsewhere (a YAML parser's
/// scalar, say) are outside its reach, which is why secrets are turned into `SecretBytes`
/// as early as possible and never back into `String`.
public final class SecretBytes: @unchecked Sendable, Equatable {
    private let pointer: UnsafeMutableRawBufferPointer

    public init(_ bytes: some Collection<UInt8>) {
        pointer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        pointer.copyBytes(from: bytes)
        count = bytes.count
    }

    /// Builds the bytes in place through `body`, which appends to a buffer that is wiped afterwards.
    public convenience init(building body: (inout [UInt8]) -> Void) {
        var scratch: [UInt8] = []
        scratch.reserveCapacity(4096)
        body(&scratch)
        self.init(scratch)
        scratch.withUnsafeMutableBytes { SecretBytes.wipe($0) }
    }

    public let count: Int

    /// Read access to the clear bytes; do not let them escape `body`.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: pointer[0..<count]))
    }

    /// A copy of the clear bytes, for code that must hand them on (sealing, stdin).
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    deinit {
        SecretBytes.wipe(pointer)
        pointer.deallocate()
    }

    /// Overwrites `buffer` with zeros in a way the optimiser cannot remove.
    public static func wipe(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        explicit_bzero(base, buffer.count)
    }

    public static func == (lhs: SecretBytes, rhs: SecretBytes) -> Bool {
        lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in a.elementsEqual(b) } }
    }
}
