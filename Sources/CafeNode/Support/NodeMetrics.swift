import CafeCore
import CoreMetrics
import Synchronization

/// What a node measures through swift-metrics. Exported only when `node.yaml` has
/// `metrics: HOST:PORT` (``MetricsEndpoint``); otherwise swift-metrics discards them.
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `cafe_envelopes_received_total` | counter | |
/// | `cafe_envelopes_refused_total` | counter | `reason` |
/// | `cafe_batches_finished_total` | counter | `state` (done, error) |
/// | `cafe_batches_running` | gauge | |
/// | `cafe_requests_run_total` | counter | `state` (a host's results: ok, failed, denied, expired) |
/// | `cafe_requests_waiting`, `cafe_requests_running` | gauge | |
/// | `cafe_command_duration_seconds` | histogram | |
/// | `cafe_outbox_envelopes`, `cafe_outbox_oldest_age_seconds` | gauge | |
/// | `cafe_links_up` | gauge | |
/// | `cafe_sync_duration_seconds` | histogram | `what` (log, journal, seen) |
enum NodeMetrics {
    static let envelopesReceived = Counter(label: "cafe_envelopes_received_total")
    static let batchesRunning = Gauge(label: "cafe_batches_running")
    static let requestsWaiting = Gauge(label: "cafe_requests_waiting")
    static let requestsRunning = Gauge(label: "cafe_requests_running")
    static let commandDuration = Timer(label: "cafe_command_duration_seconds")
    static let outboxEnvelopes = Gauge(label: "cafe_outbox_envelopes")
    static let outboxOldestAge = Gauge(label: "cafe_outbox_oldest_age_seconds")
    static let linksUp = Gauge(label: "cafe_links_up")

    static func refused(_ reason: String) {
        refusedTotal[reason].increment()
    }

    static func requestFinished(_ state: String) {
        requestsRun[state].increment()
    }

    static func batchFinished(_ state: String) {
        batchesFinished[state].increment()
    }

    /// Runs `body`, a synced write of `what`, and records how long it took.
    static func synced<T>(_ what: String, _ body: () throws -> T) rethrows -> T {
        let start = Monotonic.seconds()
        defer { recordSync(what, seconds: Monotonic.seconds() - start) }
        return try body()
    }

    /// Records a synced write of `what` that took `seconds`.
    static func recordSync(_ what: String, seconds: Double) {
        syncDuration[what].recordNanoseconds(Int64(seconds * 1e9))
    }

    // The metrics with a label, each made once per label value: making one asks the metrics
    // backend under its lock, and a host makes a few per request. Every label value comes from
    // a closed set (a state or a refusal reason), so these stay small.
    private static let refusedTotal = Labelled { Counter(label: "cafe_envelopes_refused_total", dimensions: [("reason", $0)]) }
    private static let requestsRun = Labelled { Counter(label: "cafe_requests_run_total", dimensions: [("state", $0)]) }
    private static let batchesFinished = Labelled { Counter(label: "cafe_batches_finished_total", dimensions: [("state", $0)]) }
    private static let syncDuration = Labelled { Timer(label: "cafe_sync_duration_seconds", dimensions: [("what", $0)]) }

    /// One metric per value of its label, made on first use.
    private final class Labelled<Metric: Sendable>: Sendable {
        private let made = Mutex<[String: Metric]>([:])
        private let make: @Sendable (String) -> Metric

        init(_ make: @escaping @Sendable (String) -> Metric) {
            self.make = make
        }

        subscript(value: String) -> Metric {
            made.withLock { made in
                if let metric = made[value] { return metric }
                let metric = make(value)
                made[value] = metric
                return metric
            }
        }
    }
}
