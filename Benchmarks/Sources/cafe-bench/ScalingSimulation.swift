import CafeCore
import CafeNode

/// How hierarchical delivery behaves at 10,000 hosts, without 10,000 processes: the real
/// ``BatchEngine``s (the origin's and one per gateway) decide what is sent when; an in-memory
/// network delivers envelopes after a latency; every node is one queue that spends a fixed cost
/// per envelope it handles (costs measured by the other benchmarks, see docs/scaling.md).
/// Prints the simulated time to the origin's executed batch, the work at the origin, and the
/// same batch delivered flat (the origin addressing every host itself).
enum ScalingSimulation {
    struct Costs {
        var receive = 0.000_40  // verify + decode + durable spool/journal write, per envelope
        var send = 0.000_15  // encode + sign + outbox write, per envelope
        var command = 0.000_70  // spawning `true`
        var latency = 0.000_20  // one network hop
        var perKiB = 0.000_01  // extra cost per KiB of a large (gateway) result
    }

    enum Kind { case request, ack, result }

    struct Message {
        var at: Double
        var to: String
        var from: String
        var kind: Kind
        var kib: Double
    }

    static func run(gateways: Int, leaves: Int) {
        let costs = Costs()
        let hierarchical = simulate(gateways: gateways, leaves: leaves, costs: costs)
        let flat = simulate(gateways: gateways * leaves, leaves: 0, costs: costs)
        let hosts = gateways * leaves
        print("scaling simulation: \(hosts) leaves (pure engines, in-memory network, measured per-envelope costs)")
        print("  hierarchical: origin → \(gateways) gateways → \(leaves) leaves each")
        print("    executed batch at the origin after      \(fixed(hierarchical.time, 3)) s (simulated)")
        print("    envelopes the origin handled            \(hierarchical.originEnvelopes)")
        print("    connections the origin needs            \(gateways)")
        print("    largest gateway result                  \(fixed(Double(leaves) * 1.2, 0)) KiB")
        print("  flat: the origin addresses all \(hosts) hosts itself")
        print("    executed batch at the origin after      \(fixed(flat.time, 3)) s (simulated)")
        print("    envelopes the origin handled            \(flat.originEnvelopes)")
        print("    connections the origin needs            \(hosts)")
        print("  cafe verify of the executed file: \(1 + gateways + hosts) signatures, about \(fixed(Double(1 + gateways + hosts) * 0.000_13, 2)) s")
    }

    /// Leaves 0: a flat fan-out where the "gateways" are the hosts.
    static func simulate(gateways: Int, leaves: Int, costs: Costs) -> (time: Double, originEnvelopes: Int) {
        let id = BatchID(validating: "20261129-153012-000-000000000001")!
        let start = Timestamp(milliseconds: 0)
        let gatewayNames = (1...gateways).map { "g\($0)" }
        let gatewaySet = Set(gatewayNames)
        var origin = BatchEngine(plan: BatchPlan(
            id: id, origin: "origin", requests: [PlannedRequest(name: "bench", groups: [HostGroup(gatewayNames)])], hostTimeout: nil,
            expires: start.adding(seconds: 3600)))
        var gatewayEngines: [String: BatchEngine] = [:]
        var busy: [String: Double] = [:]
        var queue = MessageHeap()
        var originEnvelopes = 0
        var finished: Double?

        func work(_ node: String, from time: Double, cost: Double) -> Double {
            let begin = max(time, busy[node, default: 0])
            busy[node] = begin + cost
            return begin + cost
        }
        func send(_ from: String, _ to: String, _ kind: Kind, at time: Double, kib: Double = 1) {
            let ready = work(from, from: time, cost: costs.send + kib * costs.perKiB)
            queue.push(Message(at: ready + costs.latency, to: to, from: from, kind: kind, kib: kib))
        }
        func timestamp(_ seconds: Double) -> Timestamp { start.adding(seconds: seconds) }

        for action in origin.start(now: start) {
            if case .send(_, let host) = action { send("origin", host, .request, at: 0) }
        }
        while let message = queue.pop() {
            let done = work(message.to, from: message.at, cost: costs.receive + message.kib * costs.perKiB)
            if message.to == "origin" { originEnvelopes += 1 }
            switch (message.kind, message.to) {
            case (.ack, "origin"):
                _ = origin.acknowledged(request: 0, host: message.from)
            case (.result, "origin"):
                let actions = origin.received(
                    request: 0, host: message.from, result: HostResult(host: message.from, state: .ok), signed: "", now: timestamp(done))
                if actions.contains(.finished(.done)) { finished = done }
            case (.request, let node) where leaves > 0 && gatewaySet.contains(node):
                send(node, message.from, .ack, at: done)
                var engine = BatchEngine(plan: BatchPlan(
                    id: id, origin: "origin", requests: [PlannedRequest(name: "bench", groups: [HostGroup((1...leaves).map { "\(node)-l\($0)" })])],
                    hostTimeout: nil, expires: start.adding(seconds: 3600)))
                for action in engine.start(now: timestamp(done)) {
                    if case .send(_, let leaf) = action { send(node, leaf, .request, at: done) }
                }
                gatewayEngines[node] = engine
            case (.request, let node):
                send(node, message.from, .ack, at: done)
                let ran = work(node, from: done, cost: costs.command)
                send(node, message.from, .result, at: ran)
            case (.ack, let node):
                _ = gatewayEngines[node]?.acknowledged(request: 0, host: message.from)
            case (.result, let node):
                guard var engine = gatewayEngines[node] else { continue }
                let actions = engine.received(
                    request: 0, host: message.from, result: HostResult(host: message.from, state: .ok), signed: "", now: timestamp(done))
                gatewayEngines[node] = engine
                if actions.contains(.finished(.done)) {
                    send(node, "origin", .result, at: done, kib: Double(leaves) * 1.2)
                }
            }
        }
        return (finished ?? .infinity, originEnvelopes)
    }
}

/// A binary min-heap of messages by arrival time (first in, first out among equal times).
struct MessageHeap {
    private var items: [(message: ScalingSimulation.Message, order: Int)] = []
    private var counter = 0

    private func less(_ a: Int, _ b: Int) -> Bool {
        (items[a].message.at, items[a].order) < (items[b].message.at, items[b].order)
    }

    mutating func push(_ message: ScalingSimulation.Message) {
        counter += 1
        items.append((message, counter))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> ScalingSimulation.Message? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast().message
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count && less(left, smallest) { smallest = left }
            if right < items.count && less(right, smallest) { smallest = right }
            guard smallest != parent else { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
