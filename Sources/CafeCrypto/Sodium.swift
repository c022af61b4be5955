import CSodium

/// libsodium set-up: `sodium_init` runs once, before the first use of any key.
enum Sodium {
    static let ready: Bool = sodium_init() >= 0

    static func ensureReady() {
        precondition(ready, "libsodium could not be initialised (sodium_init failed)")
    }

    /// `count` bytes from libsodium's CSPRNG.
    static func randomBytes(_ count: Int) -> [UInt8] {
        ensureReady()
        var bytes = [UInt8](repeating: 0, count: count)
        randombytes_buf(&bytes, count)
        return bytes
    }

    /// BLAKE2b of `bytes`, `length` bytes long.
    static func hash(_ bytes: some Collection<UInt8>, length: Int = 32) -> [UInt8] {
        ensureReady()
        let input = Array(bytes)
        var out = [UInt8](repeating: 0, count: length)
        crypto_generichash(&out, length, input, UInt64(input.count), nil, 0)
        return out
    }
}
