import ArgumentParser
import CafeCore
import CafeNode

// The mesh side of the CLI: talks to the local cafe-node over its control socket.

/// Hands `input` to the local node and follows it to the end: progress on stderr, then the
/// summary table; the last stdout line is the executed batch file's path. `plan`: the hash of
/// a stored plan the batch must match.
func runOnMesh(_ input: BatchInput, home: NodeHome, timeout: Double?, hosts: [String]? = nil, plan: String? = nil) async throws {
    let client = try ControlClient(home: home)
    try client.send(.submit(batch: input.yaml, source: "batch '\(input.name)' from cafe", follow: true, timeout: timeout, hosts: hosts, plan: plan))
    try follow(client, home: home)
}

/// Follows the events of a submitted batch until it ends.
func follow(_ client: ControlClient, home: NodeHome) throws {
    var view = ProgressView(terminal: StandardError.isTerminal)
    while let event = try client.next() {
        switch event {
        case .accepted(let id):
            note("batch \(id) accepted by the node of \(home.root)")
        case .progress(let request, let name, let host, let state, let note):
            view.update(request: request, name: name, host: host, state: state, note: note)
        case .stage(let request, let name, let hosts, let note):
            view.stage(request: request, name: name, hosts: hosts, note: note)
        case .finished(let state, let path):
            view.end()
            // The batch has ended: its path is printed and its outcome decides the exit status,
            // whatever happens to the summary table.
            do {
                let batch = try Batch(executedYAML: FileSystem.read(path, maxBytes: YAMLLimits.executedBatchFile.maxBytes), source: path)
                note("")
                StandardError.write(BatchReport(batch: batch, keys: try knownKeys(home: home)).table())
            } catch {
                note("warning: cannot show the summary (\(error)); the batch ended \(state.rawValue), see `cafe show \(path)`")
            }
            print(path)
            if state != .done { throw ExitCode(1) }
            return
        case .failure(let message, let status):
            view.end()
            throw NodeFailure(message: message, exitStatus: status)
        case .status(let text, _):
            // What the node says before the batch starts (the plan of a rerun).
            for line in text.split(separator: "\n") { note(String(line)) }
        }
    }
    view.end()
    throw NodeNotRunning(home: nil, reason: "the node closed the connection before the batch ended (it resumes the batch when it starts again)")
}

func deliverToMesh(_ input: BatchInput, home: NodeHome) async throws {
    let client = try ControlClient(home: home)
    try client.send(.submit(batch: input.yaml, source: "batch '\(input.name)' from cafe", follow: false, timeout: nil, hosts: nil))
    switch try client.next() {
    case .accepted(let id)?:
        print(id)
    case .failure(let message, let status)?:
        throw NodeFailure(message: message, exitStatus: status)
    default:
        throw NodeNotRunning(home: nil, reason: "no answer from the node")
    }
}

/// An error the node reported, with the exit status it stands for.
struct NodeFailure: Error, ExitCoded, CustomStringConvertible {
    var message: String
    var exitStatus: Int32
    var description: String { message }
}

/// Progress on stderr: one line per host state change; on a terminal, a compact line of counts
/// that updates in place, with a line of its own for every host that did not succeed.
struct ProgressView {
    let terminal: Bool
    /// When the batch was accepted, for the elapsed time.
    let started = Monotonic.seconds()
    var states: [String: HostState] = [:]
    var current = ""
    /// The request's host count and current stage ("group 2/4"), from the node's stage events.
    var total = 0
    var stage = ""
    var drawn = false

    mutating func update(request: Int, name: String, host: String, state: HostState, note: String?) {
        let line = TerminalText.safe("[\(request)] \(name)\(host.isEmpty ? "" : " on \(host)"): \(state.rawValue)" + (note.map { " — \($0)" } ?? ""))
        guard terminal else {
            StandardError.write(line + "\n")
            return
        }
        enter(name)
        if !host.isEmpty { states[host] = state }
        if host.isEmpty || (state.isFinal && state != .ok && state != .skipped) {
            StandardError.write("\r\u{1B}[K" + line + "\n")
        }
        draw(request)
    }

    /// A group began or passed, a check started, the operator paused, resumed or cancelled.
    mutating func stage(request: Int, name: String, hosts: Int, note: String) {
        let line = TerminalText.safe("[\(request)] \(name): \(note)")
        guard terminal else {
            StandardError.write(line + "\n")
            return
        }
        enter(name)
        total = hosts
        stage = String(note.prefix { $0 != ":" && $0 != ";" })
        StandardError.write("\r\u{1B}[K" + line + "\n")
        draw(request)
    }

    /// The one live line: `[0] deploy, group 2/4: 5/12 done, 4 ok, 1 failed, 0 no-answer, 12 s`.
    private mutating func draw(_ request: Int) {
        let done = states.values.filter(\.isFinal).count
        let states = states
        let count = { (state: HostState) in states.values.filter { $0 == state }.count }
        let failed = states.values.filter { $0.isFinal && $0 != .ok && $0 != .noAnswer && $0 != .skipped }.count
        var text = "[\(request)] \(current)" + (stage.isEmpty ? "" : ", \(stage)") + ": \(done)/\(max(total, states.count)) done, "
        text += "\(count(.ok)) ok, \(failed) failed, \(count(.noAnswer)) no-answer"
        if count(.skipped) > 0 { text += ", \(count(.skipped)) skipped" }
        text += ", \(Int(Monotonic.seconds() - started)) s"
        StandardError.write("\r\u{1B}[K" + TerminalText.safe(text))
        drawn = true
    }

    /// A new request starts a new line.
    private mutating func enter(_ name: String) {
        guard current != name else { return }
        end()
        current = name
        total = 0
        stage = ""
    }

    mutating func end() {
        if drawn { StandardError.write("\n") }
        drawn = false
        states = [:]
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the local node's batches, or one batch host by host.",
        discussion: "Host states: queued, sent, delivered (running), ok, failed, denied, no-answer, expired, skipped.")

    @OptionGroup var options: HomeOption

    @Argument(help: "A batch id; without it, the node's batches.")
    var id: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        if let id, BatchID(validating: id) == nil { throw ValidationError("'\(id)' is not a batch id") }
    }

    func run() async throws {
        let answer = try askNode(.status(batch: id), home: options.nodeHome)
        print(json ? answer.json : answer.text, terminator: "")
    }
}

/// Sends `request` to the local node and returns its one answer (text and JSON); the node's
/// failure becomes this command's (with its exit status).
func askNode(_ request: ControlRequest, home: NodeHome) throws -> (text: String, json: String) {
    let client = try ControlClient(home: home)
    try client.send(request)
    switch try client.next() {
    case .status(let text, let json)?:
        return (text, json)
    case .failure(let message, let status)?:
        throw NodeFailure(message: message, exitStatus: status)
    default:
        throw NodeNotRunning(home: nil, reason: "no answer from the node")
    }
}

struct RerunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rerun", abstract: "Run a batch again from its saved original, as a new batch.",
        discussion: "--failed: only the requests that did not succeed, and only on the hosts where they did not.")

    @OptionGroup var options: HomeOption

    @Argument(help: "The id of the batch to run again.")
    var id: String

    @Flag(help: "Only what failed, was denied, gave no answer, expired or was skipped.")
    var failed = false

    @Option(help: "Seconds each host may take, from its own start, before it counts as no-answer.")
    var timeout: Double?

    func validate() throws {
        guard BatchID(validating: id) != nil else { throw ValidationError("'\(id)' is not a batch id") }
        if let timeout, !ControlRequest.timeouts.contains(timeout) { throw ValidationError("--timeout must be more than 0 seconds and at most 30 days") }
    }

    func run() async throws {
        let client = try ControlClient(home: options.nodeHome)
        try client.send(.rerun(batch: id, failedOnly: failed, follow: true, timeout: timeout))
        try follow(client, home: options.nodeHome)
    }
}

/// `cafe wait [ID]`: until the node answers; with ID, until that batch ends.
struct WaitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait", abstract: "Wait until the local node answers; with ID, follow that batch to its end.",
        discussion: """
            Without ID: exit 0 as soon as the node answers on its control socket (after `cafe-node … &`), 3 if it \
            does not within --timeout. With ID: progress on stderr and the executed file's path last on stdout, \
            as `cafe batch run` prints them (also after Ctrl-C on a `batch run`, or for a batch handed over with \
            `batch deliver`); exit 0 if the batch is done, 1 if it ended in error; at once for a batch that has ended.
            """)

    @OptionGroup var options: HomeOption

    @Argument(help: "A batch id of this node.")
    var id: String?

    @Option(help: "Seconds to wait for the node to answer.")
    var timeout: Double = 30

    func validate() throws {
        if let id, BatchID(validating: id) == nil { throw ValidationError("'\(id)' is not a batch id") }
        guard timeout >= 0 else { throw ValidationError("--timeout must be 0 or more") }
    }

    func run() async throws {
        let home = options.nodeHome
        let deadline = Monotonic.seconds() + timeout
        var client: ControlClient?
        while client == nil {
            do {
                client = try ControlClient(home: home)
            } catch let error as NodeNotRunning {
                guard Monotonic.seconds() < deadline else { throw error }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        guard let id, let client else {
            note("the node of \(home.root) answers")
            return
        }
        try client.send(.follow(batch: id))
        try follow(client, home: home)
    }
}
