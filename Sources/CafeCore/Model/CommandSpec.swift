/// What one command runs: a string for `/bin/sh -c`, or an argv list run without a shell.
public enum CommandSpec: Sendable, Hashable, CustomStringConvertible {
    /// Runs as `/bin/sh -c TEXT`. `{{key}}` is left alone here; use `$CAFE_DATA_KEY` instead.
    case shell(String)
    /// Runs `argv[0]` (looked up in `PATH` when it has no `/`) with the rest as arguments.
    /// `{{key}}` placeholders are replaced by non-secret request data before it runs.
    case argv([String])

    /// The program and arguments handed to the operating system.
    public var arguments: [String] {
        switch self {
        case .shell(let text): ["/bin/sh", "-c", text]
        case .argv(let argv): argv
        }
    }

    /// One line a person can read: the shell text, or the argv joined with shell quoting.
    public var description: String {
        switch self {
        case .shell(let text): text
        case .argv(let argv): argv.map(Self.shellQuoted).joined(separator: " ")
        }
    }

    /// `argv` with every `{{key}}` replaced by the value of non-secret data key `key`.
    /// A placeholder naming a secret or a key the request lacks is an error: the command must
    /// not run with a hole in its arguments, and secrets never go into argv.
    ///
    /// A value that starts with `-` would be read as an option by most programs. Put `--`
    /// before placeholders where the program takes it (`["useradd", "-m", "--", "{{username}}"]`),
    /// or guard the placeholder: `{{key:operand}}` refuses an empty value and one that starts
    /// with `-`, so the command does not run.
    public func substituting(_ data: RequestData) throws -> CommandSpec {
        let result: CommandSpec
        if case .argv(let argv) = self {
            result = .argv(try argv.map { try Self.substitute($0, data) })
        } else {
            result = self
        }
        if result.arguments.contains(where: { $0.utf8.contains(0) }) {
            throw PlaceholderError(key: "", reason: "cannot be passed: an argument holds a NUL byte")
        }
        return result
    }

    static func substitute(_ argument: String, _ data: RequestData) throws -> String {
        guard argument.contains("{{") else { return argument }
        var result = ""
        var rest = Substring(argument)
        while let open = rest.firstRange(of: "{{") {
            result += rest[..<open.lowerBound]
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.firstRange(of: "}}") else {
                rest = rest[open.lowerBound...]
                break
            }
            let inside = String(afterOpen[..<close.lowerBound])
            let (key, guarded) = Self.placeholder(inside)
            if Names.isValidDataKey(key) {
                if data.isSecret(key) {
                    throw PlaceholderError(
                        key: key, reason: "names a secret; secrets reach commands on stdin only, never in argv")
                }
                guard let value = data.value(for: key) else {
                    throw PlaceholderError(key: inside, reason: "has no value in the request data")
                }
                if guarded && (value.isEmpty || value.hasPrefix("-")) {
                    throw PlaceholderError(
                        key: inside, reason: "refuses '\(value.prefix(40))': an operand may not be empty or start with '-', which the program would read as an option")
                }
                result += value
            } else {
                result += rest[open.lowerBound..<close.upperBound]
            }
            rest = afterOpen[close.upperBound...]
        }
        return result + rest
    }

    /// `key` and whether it carries the `:operand` guard.
    static func placeholder(_ inside: String) -> (key: String, operand: Bool) {
        inside.hasSuffix(":operand") ? (String(inside.dropLast(":operand".count)), true) : (inside, false)
    }

    static func shellQuoted(_ word: String) -> String {
        let safe = word.unicodeScalars.allSatisfy {
            ($0.properties.isAlphabetic && $0.isASCII) || ("0"..."9").contains($0) || "-_./=:@%+,".unicodeScalars.contains($0)
        }
        if safe && !word.isEmpty { return word }
        return "'" + word.replacing("'", with: "'\\''") + "'"
    }
}

/// A `{{key}}` placeholder that cannot be filled.
public struct PlaceholderError: Error, Sendable, CustomStringConvertible {
    public var key: String
    public var reason: String

    public var description: String { key.isEmpty ? "the command \(reason)" : "placeholder {{\(key)}} \(reason)" }
}
