import Foundation
import Logging
import Synchronization

/// How chatfn writes its logs: lines for people, or one JSON object per line for log shippers
/// (`--log-format json`). In JSON, chatfn's other output (banners, one line per invocation) is JSON too.
package enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json

    /// The format chosen for this process (text until a command sets it).
    package static var current: LogFormat { chosen.withLock { $0 } }

    package static func use(_ format: LogFormat) {
        chosen.withLock { $0 = format }
    }

    private static let chosen = Mutex(LogFormat.text)
}

/// A swift-log handler writing one JSON object per line to standard error: `time` (RFC 3339, UTC, ms),
/// `level`, `logger`, `message`, `source`, then the metadata's keys.
package struct JSONLogHandler: LogHandler {
    package var logLevel: Logger.Level = .info
    package var metadata: Logger.Metadata = [:]
    private let label: String

    package init(label: String) {
        self.label = label
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var fields = metadata
        if let explicit = event.metadata { fields.merge(explicit) { $1 } }
        var writer = JSONWriter(capacity: 256)
        writer.field("time", Self.timestamp())
        writer.field("level", event.level.rawValue)
        writer.field("logger", label)
        writer.field("message", event.message.description)
        writer.field("source", event.source)
        if let error = event.error { writer.field("error", "\(error)") }
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) where !["time", "level", "logger", "message", "source"].contains(key) {
            writer.field(key, value.description)
        }
        Self.write(writer.finish())
    }

    /// One line of JSON on standard error, never interleaved with another.
    static func write(_ object: [UInt8]) {
        standardError.withLock { $0.write(Data(object + [UInt8(ascii: "\n")])) }
    }

    static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    private static let standardError = Mutex(FileHandle.standardError)
}
