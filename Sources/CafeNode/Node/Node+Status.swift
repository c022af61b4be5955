import CafeCore
import CafeCrypto
import CafeWire

extension Node {
    /// A status report as a table and as JSON.
    public struct StatusReport: Sendable {
        public var text: String
        public var json: String
    }

    /// Batches of this node (running, queued, the 20 latest finished), or one batch per host.
    public func status(_ id: BatchID?) throws -> StatusReport {
        if let id { return try status(of: id) }
        var rows: [[String]] = [["BATCH", "STATE", "NAME", "HOSTS / FILE"]]
        var items: [YAMLValue] = []
        for (id, running) in core.batches.sorted(by: { $0.key < $1.key }) {
            let counts = Self.counts(running.engine.slots.flatMap(\.values).map(\.state))
            rows.append([id.rawValue, Self.stateText(running.engine), running.batch.name, counts])
            items.append(.map([
                YAMLPair("batch", .string(id.rawValue)), YAMLPair("state", .string(Self.stateText(running.engine))),
                YAMLPair("name", .string(running.batch.name)), YAMLPair("hosts", .string(counts)),
            ]))
        }
        let home = identity.home
        var finished: [(BatchID, BatchFolder)] = []
        for folder in [BatchFolder.done, .error] {
            for file in try FileSystem.list(home.batches(folder)) where file.hasSuffix(".yaml") {
                if let id = BatchID(validating: String(file.dropLast(5))) { finished.append((id, folder)) }
            }
        }
        for (id, folder) in finished.sorted(by: { $0.0 > $1.0 }).prefix(20) {
            let path = home.batchFile(id, in: folder)
            let name = Self.finishedName(path)
            rows.append([id.rawValue, folder.rawValue, name, path])
            items.append(.map([
                YAMLPair("batch", .string(id.rawValue)), YAMLPair("state", .string(folder.rawValue)),
                YAMLPair("name", .string(name)), YAMLPair("path", .string(path)),
            ]))
        }
        let text = rows.count == 1 ? "no batches\n" : BatchReport.render(rows).joined(separator: "\n") + "\n"
        return StatusReport(text: text, json: JSONText.encode(.map([YAMLPair("node", .string(name)), YAMLPair("batches", .list(items))])) + "\n")
    }

    /// The name of a finished batch, read from the head of its executed file (the fields before
    /// `requests:`, at most 4 KiB, parsed like any YAML), so that listing costs the same for
    /// any size of batch; "" when it cannot be read.
    static func finishedName(_ path: String) -> String {
        guard let head = try? FileSystem.readPrefix(path, count: 4096) else { return "" }
        let marker = Array("\nrequests:".utf8)
        guard let end = (0...max(0, head.count - marker.count)).first(where: { head[$0..<min(head.count, $0 + marker.count)].elementsEqual(marker) }),
            let root = try? YAMLReader.document(head[..<(end + 1)], limits: .config, source: path),
            let name = try? root.mapping().optional("name")?.string()
        else { return "" }
        return name
    }

    /// `running`, `paused` or `cancelling` for a batch that runs.
    static func stateText(_ engine: BatchEngine) -> String {
        engine.cancelled != nil ? "cancelling" : engine.paused ? "paused" : engine.state.rawValue
    }

    func status(of id: BatchID) throws -> StatusReport {
        var rows: [[String]] = [["REQUEST", "HOST", "STATE", "NOTE"]]
        var requests: [YAMLValue] = []
        let state: String
        if let running = core.batches[id] {
            state = Self.stateText(running.engine)
            for (index, planned) in running.engine.plan.requests.enumerated() {
                var hosts: [YAMLValue] = []
                for host in planned.groups.allHosts {
                    guard let slot = running.engine.slots[index][host] else { continue }
                    rows.append([planned.name, host, Self.describe(slot.state), slot.note ?? slot.result?.message ?? ""])
                    hosts.append(Self.hostJSON(host, slot.state, slot.note))
                }
                if let note = planned.undeliverable { rows.append([planned.name, "-", "failed", note]) }
                requests.append(.map([
                    YAMLPair("name", .string(planned.name)), YAMLPair("state", .string(running.engine.requestStates[index].rawValue)),
                    YAMLPair("hosts", .list(hosts)),
                ]))
            }
        } else {
            guard let (_, path) = identity.home.executedBatchFile(id) else {
                throw InputError(source: id.rawValue, message: "no batch with this id on \(name)")
            }
            let batch = try Batch(executedYAML: try FileSystem.read(path, maxBytes: YAMLLimits.executedBatchFile.maxBytes), source: path)
            state = batch.state.rawValue
            for request in batch.requests {
                for record in request.records {
                    rows.append([request.name, record.host, Self.describe(record.state), record.note ?? ""])
                }
                if let note = request.note { rows.append([request.name, "-", request.state.rawValue, note]) }
                requests.append(.map([
                    YAMLPair("name", .string(request.name)), YAMLPair("state", .string(request.state.rawValue)),
                    YAMLPair("hosts", .list(request.records.map { Self.hostJSON($0.host, $0.state, $0.note) })),
                ]))
            }
        }
        let text = "batch \(id): \(state)\n" + BatchReport.render(rows).joined(separator: "\n") + "\n"
        let json = JSONText.encode(.map([
            YAMLPair("batch", .string(id.rawValue)), YAMLPair("state", .string(state)), YAMLPair("requests", .list(requests)),
        ]))
        return StatusReport(text: text, json: json + "\n")
    }

    /// States as an operator reads them: `running` means delivered and acknowledged.
    static func describe(_ state: HostState) -> String {
        switch state {
        case .sent: "sent (not yet acknowledged)"
        case .running: "delivered, running"
        default: state.rawValue
        }
    }

    static func hostJSON(_ host: String, _ state: HostState, _ note: String?) -> YAMLValue {
        var pairs = [YAMLPair("host", .string(host)), YAMLPair("state", .string(state.rawValue))]
        if let note { pairs.append(YAMLPair("note", .string(note))) }
        return .map(pairs)
    }

    static func counts(_ states: [HostState]) -> String {
        HostState.allCases.compactMap { state in
            let count = states.filter { $0 == state }.count
            return count == 0 ? nil : "\(count) \(state.rawValue)"
        }.joined(separator: ", ")
    }
}
