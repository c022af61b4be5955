import CoreMetrics

/// Counters a node keeps through swift-metrics. Nothing is exported unless the embedding
/// program bootstraps a metrics backend (`MetricsSystem.bootstrap`); the default discards them.
enum NodeMetrics {
    static let envelopesReceived = Counter(label: "cafe_envelopes_received_total")

    static func refused(_ reason: String) {
        Counter(label: "cafe_envelopes_refused_total", dimensions: [("reason", reason)]).increment()
    }

    static func requestFinished(_ state: String) {
        Counter(label: "cafe_requests_run_total", dimensions: [("state", state)]).increment()
    }

    static func batchFinished(_ state: String) {
        Counter(label: "cafe_batches_finished_total", dimensions: [("state", state)]).increment()
    }
}
