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

    /// Line breaks and other control characters escaped, so that text from a peer cannot start
    /// a line of its own in the log.
    static func oneLine(_ text: String) -> String { TerminalText.safe(text) }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        var text = "\(clock.now()) \(event.level) \(label): \(Self.oneLine("\(event.message)"))"
        if let error = event.error { text += " error=\"\(Self.oneLine("\(error)"))\"" }
        for key in merged.keys.sorted() {
            let value = Self.oneLine("\(merged[key]!)")
            text += " \(key)=" + (value.contains(" ") ? "\"\(value)\"" : value)
        }
        StandardError.write(text + "\n")
    }
}
