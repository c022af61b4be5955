import Glibc

/// Turns a ``Command`` and the ``RunContext`` of its request into a process run: placeholders
/// substituted (argv entries only, non-secret keys only), the environment built, the data
/// written to stdin as YAML, secrets included.
///
/// The environment a command sees is the runner's base environment (by default `PATH`, `HOME`,
/// `LANG`, `LC_ALL`, `TZ`, `USER`, `LOGNAME`, `SHELL`, `TMPDIR` taken from the caller, with a
/// standard `PATH` when it has none) plus `CAFE_REQUEST`, `CAFE_BATCH`, `CAFE_ORIGIN`,
/// `CAFE_NODE` and one `CAFE_DATA_KEY` per non-secret data key whose value is at most
/// ``maxEnvironmentValue`` bytes (longer values, which the kernel would refuse in the
/// environment, reach the command on stdin only).
public struct CommandRunner: Sendable {
    public var spawner: any ProcessSpawner
    public var baseEnvironment: [(name: String, value: String)]
    /// Seconds between SIGTERM and SIGKILL after a timeout.
    public var killGrace: Double

    public init(
        spawner: any ProcessSpawner = POSIXSpawner(),
        baseEnvironment: [(name: String, value: String)] = CommandRunner.inheritedEnvironment(),
        killGrace: Double = 2
    ) {
        self.spawner = spawner
        self.baseEnvironment = baseEnvironment
        self.killGrace = killGrace
    }

    /// Variables passed on from the caller's environment.
    public static let inheritedNames = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "USER", "LOGNAME", "SHELL", "TMPDIR"]

    /// Longest data value passed as a `CAFE_DATA_*` variable: 32 KiB.
    public static let maxEnvironmentValue = 32 << 10

    /// `PATH` when the caller has none.
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The inherited part of the environment, read from this process.
    public static func inheritedEnvironment() -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        for name in inheritedNames {
            if let value = getenv(name) {
                result.append((name, String(cString: value)))
            } else if name == "PATH" {
                result.append((name, defaultPath))
            }
        }
        return result
    }

    /// Runs `command` for the request described by `context`.
    public func run(_ command: Command, in context: RunContext) async -> CommandResult {
        let spec: CommandSpec
        do {
            spec = try command.spec.substituting(context.data)
        } catch {
            return CommandResult(
                command: command.spec, termination: .failedToStart("\(error)"), started: SystemClock().now(), duration: 0)
        }
        let invocation = ProcessInvocation(
            arguments: spec.arguments, environment: environment(for: context), stdin: Self.stdin(for: context.data),
            timeout: command.timeout, killGrace: killGrace,
            outputCap: command.outputCap)
        let outcome = await spawner.run(invocation)
        return CommandResult(
            command: spec, termination: outcome.termination, timedOutAfter: outcome.timedOut ? command.timeout : nil,
            started: outcome.started, duration: outcome.duration, stdout: outcome.stdout, stderr: outcome.stderr,
            note: outcome.note)
    }

    /// `NAME=value` entries for a command of this request.
    public func environment(for context: RunContext) -> [String] {
        var entries = baseEnvironment.map { "\($0.name)=\($0.value)" }
        entries.append("CAFE_REQUEST=\(context.request)")
        entries.append("CAFE_BATCH=\(context.batch)")
        entries.append("CAFE_ORIGIN=\(context.origin)")
        entries.append("CAFE_NODE=\(context.node)")
        for field in context.data.fields where field.value.utf8.count <= Self.maxEnvironmentValue {
            entries.append("\(Names.environmentName(forDataKey: field.key))=\(field.value)")
        }
        return entries
    }

    /// The whole data as a YAML mapping, secrets included, in a buffer that is wiped after use.
    /// Sealed secrets are not opened here; the executor opens them before it runs anything.
    public static func stdin(for data: RequestData) -> SecretBytes? {
        if data.fields.isEmpty && data.secrets.isEmpty { return nil }
        return SecretBytes { out in
            if !data.fields.isEmpty {
                out.append(contentsOf: YAMLEmitter.bytes(.map(data.fields.map { YAMLPair($0.key, .string($0.value)) })))
            }
            for secret in data.secrets {
                guard case .clear(let value) = secret.value else { continue }
                YAMLEmitter.appendKey(secret.key, into: &out)
                value.withUnsafeBytes { YAMLEmitter.appendDoubleQuoted(utf8: $0, into: &out) }
                out.append(UInt8(ascii: "\n"))
            }
        }
    }
}
