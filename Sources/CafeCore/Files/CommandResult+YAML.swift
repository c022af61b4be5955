extension CapturedOutput {
    /// `NAME: TEXT` (or `NAME-base64:` for bytes that are not text), and when output was cut,
    /// `NAME-truncated: true` with `NAME-dropped: BYTES`: the pairs of stdout or stderr.
    func yamlPairs(named name: String) -> [YAMLPair] {
        var pairs: [YAMLPair] = []
        if let text {
            pairs.append(YAMLPair(name, .string(text)))
        } else {
            pairs.append(YAMLPair(name + "-base64", .string(Base64.encode(bytes))))
        }
        if isTruncated {
            pairs.append(YAMLPair(name + "-truncated", .bool(true)))
            pairs.append(YAMLPair(name + "-dropped", .int(droppedBytes)))
        }
        return pairs
    }

    /// Reads what ``yamlPairs(named:)`` wrote.
    init(named name: String, from mapping: YAMLMapping) throws {
        self.init()
        if let text = mapping.optional(name) {
            bytes = Array(try text.string().utf8)
        } else if let encoded = mapping.optional(name + "-base64") {
            guard let decoded = Base64.decode(try encoded.string()) else { throw encoded.error("is not valid base64") }
            bytes = decoded
        }
        let truncated = try mapping.optional(name + "-truncated")?.bool() ?? false
        if let dropped = mapping.optional(name + "-dropped") {
            droppedBytes = try dropped.int()
            guard droppedBytes > 0 else { throw dropped.error("must be more than 0") }
        }
        guard truncated == isTruncated else {
            throw mapping.error("\(name)-truncated and \(name)-dropped disagree")
        }
    }
}

/// A command's result: what ran (``CommandSpec``'s mapping form), how it ended, when, for how
/// long, what it printed.
extension CommandResult: YAMLMappingCodable {
    public static let yamlKeys = CommandSpec.yamlKeys + [
        "exit", "signal", "not-started", "timed-out-after", "start", "duration",
        "stdout", "stdout-base64", "stdout-truncated", "stdout-dropped",
        "stderr", "stderr-base64", "stderr-truncated", "stderr-dropped", "note",
    ]

    public var yamlPairs: [YAMLPair] {
        var pairs = command.yamlPairs
        switch termination {
        case .exited(let status): pairs.append(YAMLPair("exit", .int(Int(status))))
        case .signaled(let signal): pairs.append(YAMLPair("signal", .string(SignalNames.name(signal))))
        case .failedToStart(let why): pairs.append(YAMLPair("not-started", .string(why)))
        }
        if let limit = timedOutAfter { pairs.append(YAMLPair("timed-out-after", .seconds(limit))) }
        pairs.append(YAMLPair("start", started.yamlValue))
        pairs.append(YAMLPair("duration", .seconds(duration)))
        pairs += stdout.yamlPairs(named: "stdout")
        pairs += stderr.yamlPairs(named: "stderr")
        if let note { pairs.append(YAMLPair("note", .string(note))) }
        return pairs
    }

    public init(_ mapping: YAMLMapping) throws {
        let command = try CommandSpec(mapping)
        let termination: Termination
        if let exit = mapping.optional("exit") {
            let status = try exit.int()
            guard (0...255).contains(status) else { throw exit.error("must be between 0 and 255") }
            termination = .exited(Int32(status))
        } else if let signal = mapping.optional("signal") {
            guard let number = SignalNames.number(try signal.string()) else { throw signal.error("is not a signal") }
            termination = .signaled(number)
        } else if let why = mapping.optional("not-started") {
            termination = .failedToStart(try why.string())
        } else {
            throw mapping.error("needs exit:, signal: or not-started:")
        }
        self.init(
            command: command, termination: termination,
            timedOutAfter: try mapping.optional("timed-out-after")?.seconds(), started: try Timestamp(try mapping.required("start")),
            duration: try mapping.required("duration").seconds(),
            stdout: try CapturedOutput(named: "stdout", from: mapping), stderr: try CapturedOutput(named: "stderr", from: mapping),
            note: try mapping.optional("note")?.string())
    }
}
