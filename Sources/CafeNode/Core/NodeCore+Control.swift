import CafeCore

extension NodeCore {
    /// The operator pauses, resumes or cancels running batch `id` (`cafe batch pause ID` …).
    /// The engine journals the change before anything is done about it, so it holds across a
    /// restart. The caller hears the line `cafe` prints.
    mutating func control(_ id: BatchID, _ action: BatchControl, _ token: ReplyToken) {
        guard let running = batches[id] else {
            emit(.reply(token, .failure(InputError(source: id.rawValue, message: "is not a running batch of this node", hint: "see `cafe status` for its batches"))))
            return
        }
        let engine = running.engine
        switch action {
        case .pause where engine.paused, .resume where !engine.paused:
            emit(.reply(token, .text("batch \(id) is already \(engine.paused ? "paused" : "running")")))
            return
        case _ where engine.cancelled != nil:
            emit(.reply(token, .text("batch \(id) is cancelled; it ends once its running hosts have answered")))
            return
        default:
            break
        }
        log(.notice, "batch \(action == .cancel ? "cancelled" : action == .pause ? "paused" : "resumed") by the operator", ["batch": "\(id)"])
        step(.batch(id)) { [now] engine in
            switch action {
            case .pause: engine.pause()
            case .resume: engine.resume(now: now)
            case .cancel: engine.cancel(now: now)
            }
        }
        let text: String
        switch action {
        case .pause: text = "batch \(id) paused: no host starts until `cafe batch resume \(id)`; hosts already started finish"
        case .resume: text = "batch \(id) resumed"
        case .cancel:
            text = batches[id] == nil
                ? "batch \(id) cancelled; it ended in error"
                : "batch \(id) cancelled: no host starts; it ends in error once the hosts already running have answered"
        }
        emit(.reply(token, .text(text)))
    }
}
