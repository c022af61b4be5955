import CafeCore
import Logging

/// swift-log handler writing one line per event to stderr:
/// `2026-11-29T15:30:12.345Z info jlore: link up peer=monk1 address=[IPv4]127.0.0.1/127.0.0.1:7402`.
public struct LineLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let label: String
    let clock: any WallClock

    public init(label: String, level: Logger.Level, clock: any WallClock = SystemClock()) {
        self.label = label
        self.logLevel = level
        self.clock = clock
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var text = "\(clock.now()) \(event.level) \(label): \(event.message)"
        if let error = event.error { text += " error=\"\(error)\"" }
        for key in merged.keys.sorted() {
            let value = "\(merged[key]!)"
            text += " \(key)=" + (value.contains(" ") ? "\"\(value)\"" : value)
        }
        StandardError.write(text + "\n")
    }
}
