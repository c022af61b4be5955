import CafeCore

extension Node {
    /// The operator pauses, resumes or cancels running batch `id` (`cafe batch pause ID` …).
    /// The engine journals the change before anything is done about it, so it holds across a
    /// restart. Returns the line `cafe` prints.
    public func control(_ id: BatchID, _ action: BatchControl) throws -> String {
        guard let running = batches[id] else {
            let home = identity.home
            for folder in [BatchFolder.done, .error] where FileSystem.exists(home.batchFile(id, in: folder)) {
                throw InputError(source: id.rawValue, message: "has ended (\(folder.rawValue)); there is nothing to \(action.rawValue)", hint: "its executed file is \(home.batchFile(id, in: folder))")
            }
            throw InputError(source: id.rawValue, message: "is not a running batch of this node", hint: "see `cafe status` for its batches")
        }
        let engine = running.engine
        let now = clock.now()
        switch action {
        case .pause where engine.paused, .resume where !engine.paused:
            return "batch \(id) is already \(engine.paused ? "paused" : "running")"
        case _ where engine.cancelled != nil:
            return "batch \(id) is cancelled; it ends once its running hosts have answered"
        default:
            break
        }
        let changed = step(.batch(id)) { engine in
            switch action {
            case .pause: engine.pause()
            case .resume: engine.resume(now: now)
            case .cancel: engine.cancel(now: now)
            }
        }
        guard changed else {
            throw EnvironmentError("cannot write the journal of batch \(id); nothing changed (see the node's log)", exitStatus: 1)
        }
        logger.notice("batch \(action == .cancel ? "cancelled" : action == .pause ? "paused" : "resumed") by the operator", metadata: ["batch": "\(id)"])
        switch action {
        case .pause: return "batch \(id) paused: no host starts until `cafe batch resume \(id)`; hosts already started finish"
        case .resume: return "batch \(id) resumed"
        case .cancel:
            return batches[id] == nil
                ? "batch \(id) cancelled; it ended in error"
                : "batch \(id) cancelled: no host starts; it ends in error once the hosts already running have answered"
        }
    }
}
