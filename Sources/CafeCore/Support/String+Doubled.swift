extension String {
    /// Whether the ASCII character `character` occurs twice in a row (`"a  b"` for a space), by
    /// one pass over the UTF-8 bytes. `contains("  ")` finds the same through the standard
    /// library's generic substring search, which showed in the profile of every envelope the
    /// YAML emitter writes.
    package func hasDoubled(_ character: Unicode.Scalar) -> Bool {
        precondition(character.isASCII, "hasDoubled looks for an ASCII character")
        let byte = UInt8(character.value)
        var previous: UInt8 = 0
        for current in utf8 {
            if current == byte && previous == byte { return true }
            previous = current
        }
        return false
    }
}
