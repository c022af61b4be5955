extension CommandMapEntry {
    /// The canonical encoding of this entry, the bytes its digest (`CafeCrypto`'s
    /// `CommandMapEntry.digest`) is taken of: the YAML that ``YAMLEmitter`` writes for
    ///
    /// ```yaml
    /// command-entry: 1          # the version of this encoding
    /// commands:
    ///   - run: TEXT             # a string of commands.yaml (runs under /bin/sh -c)
    ///   - argv: [PROGRAM, ARG]  # a list of commands.yaml (argv, placeholders as written)
    /// timeout: 300.000          # seconds, millisecond precision, default included
    /// output-cap: 1048576       # bytes, default included
    /// ```
    ///
    /// Limits are always written, so the digest changes with what runs and how, never with how
    /// commands.yaml spells the entry (a bare list and a mapping with the default limits give
    /// the same digest). Placeholders stay as written: the digest names the entry, not one
    /// request's data.
    public var canonicalYAML: [UInt8] {
        YAMLEmitter.bytes(.map([
            YAMLPair("command-entry", .int(1)),
            YAMLPair("commands", .list(commands.map(\.yamlValue))),
            YAMLPair("timeout", .seconds(timeout)),
            YAMLPair("output-cap", .int(outputCap)),
        ]))
    }
}
