import CafeCore
import CoreMetrics
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus

/// `metrics: HOST:PORT` in node.yaml: the node's swift-metrics counters, gauges and timers in
/// the Prometheus text format at `GET /metrics` (swift-prometheus), plain HTTP/1.1, read only.
/// Anything else is 404; a method other than GET or HEAD is 405.
public struct MetricsEndpoint: Sendable {
    public typealias Listener = NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>

    let registry: PrometheusCollectorRegistry
    /// Connections accepted and not yet answered (see ``AcceptedConnections``).
    let accepted = AcceptedConnections<HTTPServerRequestPart, HTTPServerResponsePart>()
    let group: any EventLoopGroup
    let logger: Logger

    /// Makes swift-metrics report into a new registry (once per process) and returns the
    /// endpoint that serves it.
    public static func bootstrap(group: any EventLoopGroup, logger: Logger) -> MetricsEndpoint {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(500),
            .seconds(1), .seconds(5), .seconds(30), .seconds(120), .seconds(600),
        ]
        MetricsSystem.bootstrap(factory)
        return MetricsEndpoint(registry: registry, group: group, logger: logger)
    }

    public func bind(on address: HostPort) async throws -> Listener {
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: address.host, port: address.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try accepted.wrap(channel)
                }
            }
        logger.info("serving metrics on http://\(address)/metrics")
        return listener
    }

    public func serve(_ listener: Listener) async throws {
        try await listener.acceptEach(accepted) { await self.answer($0) }
    }

    /// Answers every request on one connection, and closes it after a request that does not
    /// keep it alive.
    func answer(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await part in inbound {
                    guard case .head(let request) = part else { continue }
                    let (status, body): (HTTPResponseStatus, [UInt8]) =
                        switch (request.method, request.uri.split(separator: "?").first ?? "") {
                        case (.GET, "/metrics"), (.HEAD, "/metrics"): (.ok, registry.emitToBuffer())
                        case (_, "/metrics"): (.methodNotAllowed, Array("only GET and HEAD\n".utf8))
                        default: (.notFound, Array("the metrics are at /metrics\n".utf8))
                        }
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: status == .ok ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
                    headers.add(name: "Content-Length", value: String(body.count))
                    try await outbound.write(.head(HTTPResponseHead(version: request.version, status: status, headers: headers)))
                    if request.method != .HEAD { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                    try await outbound.write(.end(nil))
                    // HTTP/1.0, or `Connection: close`: the client reads to the end of the stream.
                    if !request.isKeepAlive { break }
                }
            }
        } catch {
            logger.debug("metrics connection ended: \(error)")
        }
    }
}
