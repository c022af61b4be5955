extension CommandSpec {
    /// `run: TEXT` for shell strings, `argv: [...]` for argv lists.
    var yamlPair: YAMLPair {
        switch self {
        case .shell(let text): YAMLPair("run", .string(text))
        case .argv(let argv): YAMLPair("argv", .strings(argv))
        }
    }

    init(from mapping: YAMLMapping) throws {
        if let run = mapping.optional("run") {
            self = .shell(try run.string())
        } else if let argv = mapping.optional("argv") {
            self = .argv(try argv.stringList())
        } else {
            throw InputError(
                source: mapping.source, line: mapping.mark.line, column: mapping.mark.column, field: mapping.path,
                message: "needs run: or argv:")
        }
    }
}

extension CapturedOutput {
    func appendPairs(_ name: String, to pairs: inout [YAMLPair]) {
        if let text {
            pairs.append(YAMLPair(name, .string(text)))
        } else {
            pairs.append(YAMLPair(name + "-base64", .string(Base64.encode(bytes))))
        }
        if isTruncated {
            pairs.append(YAMLPair(name + "-truncated", .bool(true)))
            pairs.append(YAMLPair(name + "-dropped", .int(droppedBytes)))
        }
    }

    init(_ name: String, from mapping: YAMLMapping) throws {
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
            throw InputError(
                source: mapping.source, line: mapping.mark.line, field: mapping.path,
                message: "\(name)-truncated and \(name)-dropped disagree")
        }
    }
}

extension CommandResult {
    static let yamlKeys = [
        "run", "argv", "exit", "signal", "not-started", "timed-out-after", "start", "duration",
        "stdout", "stdout-base64", "stdout-truncated", "stdout-dropped",
        "stderr", "stderr-base64", "stderr-truncated", "stderr-dropped", "note",
    ]

    /// The result as a YAML mapping: what ran, how it ended, when, for how long, what it printed.
    public var yamlValue: YAMLValue {
        var pairs = [command.yamlPair]
        switch termination {
        case .exited(let status): pairs.append(YAMLPair("exit", .int(Int(status))))
        case .signaled(let signal): pairs.append(YAMLPair("signal", .string(SignalNames.name(signal))))
        case .failedToStart(let why): pairs.append(YAMLPair("not-started", .string(why)))
        }
        if let limit = timedOutAfter { pairs.append(YAMLPair("timed-out-after", .seconds(limit))) }
        pairs.append(YAMLPair("start", .string(started.description)))
        pairs.append(YAMLPair("duration", .seconds(duration)))
        stdout.appendPairs("stdout", to: &pairs)
        stderr.appendPairs("stderr", to: &pairs)
        if let note { pairs.append(YAMLPair("note", .string(note))) }
        return .map(pairs)
    }

    /// Reads what ``yamlValue`` wrote; unknown keys are refused.
    public init(_ reader: YAMLReader) throws {
        let mapping = try reader.mapping(allowed: Self.yamlKeys)
        let command = try CommandSpec(from: mapping)
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
            throw reader.error("needs exit:, signal: or not-started:")
        }
        let startReader = try mapping.required("start")
        guard let started = Timestamp(iso8601: try startReader.string()) else {
            throw startReader.error("is not a time like 2026-11-29T15:30:12.345Z")
        }
        self.init(
            command: command, termination: termination,
            timedOutAfter: try mapping.optional("timed-out-after")?.seconds(), started: started,
            duration: try mapping.required("duration").seconds(),
            stdout: try CapturedOutput("stdout", from: mapping), stderr: try CapturedOutput("stderr", from: mapping),
            note: try mapping.optional("note")?.string())
    }
}
