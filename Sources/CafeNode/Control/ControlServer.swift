import CafeCore
import CafeWire
import Glibc
import Logging
import NIOCore
import NIOPosix

/// The node's end of the control socket: a Unix socket in `run/` (a directory only the node's
/// user may enter), one request per connection, answered with one or more events.
public struct ControlServer: Sendable {
    /// The largest control frame either side accepts (a batch file with its data, a status).
    static let maxFrameBytes = 64 << 20

    /// The framing of the control socket, on both ends: the node's pipeline and ``ControlClient``.
    static func frameDecoder() -> FrameDecoder { FrameDecoder(maxFrameBytes: maxFrameBytes) }

    let node: Node
    let path: String
    /// Connections accepted and not yet served (see ``AcceptedConnections``).
    let accepted = AcceptedConnections<ByteBuffer, ByteBuffer>()
    let group: any EventLoopGroup
    let logger: Logger

    public init(node: Node, path: String, group: any EventLoopGroup, logger: Logger) {
        self.node = node
        self.path = path
        self.group = group
        self.logger = logger
    }

    /// The bound control socket that ``serve(_:)`` answers on.
    public typealias Listener = NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>

    /// Binds the control socket (replacing a stale one). Clients can connect as soon as this
    /// returns, so a node binds it last: a control socket that answers means every listener is up.
    public func bind() async throws -> Listener {
        let server = try await ServerBootstrap(group: group)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(Self.frameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(FrameEncoder()))
                    return try accepted.wrap(channel)
                }
            }
        chmod(path, 0o600)
        logger.info("control socket at \(path)")
        return server
    }

    /// Answers control requests on `server` until cancelled.
    public func serve(_ server: Listener) async throws {
        try await server.acceptEach(accepted) { await serve($0) }
    }

    func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var frames = inbound.makeAsyncIterator()
                guard let first = try await frames.next() else { return }
                func send(_ event: ControlEvent) async throws {
                    try await outbound.write(ByteBuffer(bytes: event.yaml))
                }
                do {
                    let request = try ControlRequest(yaml: Array(buffer: first))
                    try await handle(request, send: send)
                } catch let error as any ExitCoded {
                    try await send(.failure(message: "\(error)", exitStatus: error.exitStatus))
                } catch {
                    try await send(.failure(message: "\(error)", exitStatus: 1))
                }
            }
        } catch {
            logger.debug("control connection ended: \(error)")
        }
    }

    func handle(_ request: ControlRequest, send: (ControlEvent) async throws -> Void) async throws {
        switch request {
        case .submit(let bytes, let source, let follow, let timeout, let hosts, let plan):
            let input = try BatchInput(yaml: bytes, source: source)
            let (id, events) = try await node.submit(input, options: SubmitOptions(timeout: timeout, hosts: hosts, plan: plan), follow: follow)
            try await send(.accepted(batch: id.rawValue))
            if let events { try await forward(events, send: send) }
        case .plan(let bytes, let source, let timeout):
            let plan = try await node.collectPlan(try BatchInput(yaml: bytes, source: source), timeout: timeout, source: source)
            try await send(.status(text: plan.text, json: ""))
            if !plan.isComplete {
                let missing = plan.hosts.filter { $0.state != .ok }.map { "\($0.label): \($0.state.rawValue)" }
                try await send(.failure(
                    message: "no plan: \(missing.count) of \(plan.hosts.count) host(s) did not answer ok (\(missing.joined(separator: ", "))); nothing was stored",
                    exitStatus: 1))
            }
        case .rerun(let batch, let failedOnly, let follow, let timeout):
            guard let id = BatchID(validating: batch) else { throw InputError(source: batch, message: "is not a batch id") }
            let (newID, events, plan) = try await node.rerun(id, failedOnly: failedOnly, timeout: timeout, follow: follow)
            try await send(.status(text: plan, json: ""))
            try await send(.accepted(batch: newID.rawValue))
            if let events { try await forward(events, send: send) }
        case .status(let batch):
            let id = try batch.map { text in
                guard let id = BatchID(validating: text) else { throw InputError(source: text, message: "is not a batch id") }
                return id
            }
            let report = try await node.status(id)
            try await send(.status(text: report.text, json: report.json))
        case .follow(let batch):
            guard let id = BatchID(validating: batch) else { throw InputError(source: batch, message: "is not a batch id") }
            switch await node.following(id) {
            case .running(let events):
                try await send(.accepted(batch: id.rawValue))
                try await forward(events, send: send)
            case .ended(let state, let path):
                try await send(.finished(state: state, path: path))
            case .unknown:
                throw InputError(source: batch, message: "is not a batch of this node", hint: "see `cafe status` for its batches")
            }
        case .control(let batch, let action):
            guard let id = BatchID(validating: batch) else { throw InputError(source: batch, message: "is not a batch id") }
            let text = try await node.control(id, action)
            try await send(.status(text: text + "\n", json: ""))
        case .reload:
            switch await node.reload() {
            case .applied(let generation, let notes):
                let text = (["config generation \(generation) applied"] + notes).joined(separator: "\n") + "\n"
                try await send(.status(text: text, json: ""))
            case .refused(let generation, let problems):
                try await send(.failure(
                    message: "reload refused; still running on config generation \(generation):\n" + problems.joined(separator: "\n"),
                    exitStatus: 2))
            }
        }
    }

    func forward(_ events: AsyncStream<FollowEvent>, send: (ControlEvent) async throws -> Void) async throws {
        for await event in events {
            switch event {
            case .progress(let request, let name, let host, let state, let note):
                try await send(.progress(request: request, name: name, host: host, state: state, note: note))
            case .stage(let request, let name, let hosts, let note):
                try await send(.stage(request: request, name: name, hosts: hosts, note: note))
            case .finished(let state, let path):
                try await send(.finished(state: state, path: path))
                return
            case .failed(let message):
                try await send(.failure(message: message, exitStatus: 1))
                return
            }
        }
        throw EnvironmentError("cafe-node stopped before the batch ended; it resumes when the node starts again", exitStatus: 3)
    }
}
