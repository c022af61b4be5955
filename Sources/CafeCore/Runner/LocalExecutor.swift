/// Carries out requests on this host: the request's own commands when it has any (ad-hoc),
/// otherwise the command map's entry for its name. Commands run in order; the first one that
/// fails stops the rest and fails the request.
public struct LocalExecutor: RequestExecutor {
    public var node: String
    public var commandMap: CommandMap
    public var runner: CommandRunner
    /// Hears about each command as it finishes (for progress output).
    public var onCommand: @Sendable (CommandResult) -> Void

    public init(
        node: String, commandMap: CommandMap, runner: CommandRunner = CommandRunner(),
        onCommand: @escaping @Sendable (CommandResult) -> Void = { _ in }
    ) {
        self.node = node
        self.commandMap = commandMap
        self.runner = runner
        self.onCommand = onCommand
    }

    public func execute(_ request: Request, index: Int, batch: BatchContext) async -> [HostRecord] {
        let result = await run(request, batch: batch)
        return [HostRecord(host: node, state: result.state, result: result)]
    }

    /// Why `node` cannot run `request`: it has no command-map entry for it.
    public static func noEntry(_ request: String, on node: String) -> String {
        "no command-map entry for '\(request)' on \(node) (add it to config/commands.yaml)"
    }

    /// Runs `request` here and returns this host's result.
    public func run(_ request: Request, batch: BatchContext) async -> HostResult {
        let commands: [Command]
        if request.isAdhoc {
            commands = request.commands
        } else if let entry = commandMap.entry(for: request.name) {
            commands = entry.commands.map { Command($0, timeout: entry.timeout, outputCap: entry.outputCap) }
        } else {
            return HostResult(host: node, state: .failed, message: Self.noEntry(request.name, on: node))
        }
        if let sealed = request.data.secrets.first(where: { if case .sealed = $0.value { true } else { false } }) {
            return HostResult(
                host: node, state: .failed,
                message: "secret '\(sealed.key)' is still sealed; it cannot be opened on \(node)")
        }
        let context = RunContext(
            request: request.name, batch: batch.id, origin: batch.origin, node: node, data: request.data)
        var results: [CommandResult] = []
        for command in commands {
            let result = await runner.run(command, in: context)
            results.append(result)
            onCommand(result)
            guard result.succeeded else {
                return HostResult(host: node, state: .failed, commands: results)
            }
        }
        return HostResult(host: node, state: .ok, commands: results)
    }
}
