import CKafka
import Logging
import Synchronization

/// librdkafka's own log lines, through swift-log (label `librdkafka`) at the matching level, instead of
/// raw `%3|…` lines on stderr: every client chatfn builds logs here.
package enum KafkaLog {
    /// Set once logging is bootstrapped; until then librdkafka's lines go to a default swift-log logger.
    private static let logger = Mutex<Logger?>(nil)

    /// Routes librdkafka's lines to `logger` (its level decides what is kept).
    package static func use(_ logger: Logger) {
        var logger = logger
        logger[metadataKey: "source"] = "librdkafka"
        self.logger.withLock { $0 = logger }
    }

    /// The last error librdkafka logged for each client, for an error that must say why (a probe).
    private static let lastErrors = Mutex<[String: String]>([:])

    package static func lastError(of client: String) -> String? {
        lastErrors.withLock { $0[client] }
    }

    static func log(level: Int32, facility: String, message: String, client: String) {
        if level <= 3 {
            // "rdkafka#producer-1: 127.0.0.1:9/bootstrap: Connect to … failed: Connection refused (after 0ms …)"
            let reason = message.split(separator: ": ", maxSplits: 2).last.map(String.init) ?? message
            lastErrors.withLock { $0[client] = KafkaProperties.redacting(reason) }
        }
        let current = logger.withLock { $0 } ?? Logger(label: "librdkafka")
        current.log(level: swiftLogLevel(syslog: level), "\(KafkaProperties.redacting(message))", metadata: ["facility": "\(facility)", "client": "\(client)"])
    }

    /// librdkafka logs with syslog levels (0 emergency … 7 debug).
    static func swiftLogLevel(syslog level: Int32) -> Logger.Level {
        switch level {
        case ...2: .critical
        case 3: .error
        case 4: .warning
        case 5: .notice
        case 6: .info
        default: .debug
        }
    }
}

/// librdkafka calls this on its own threads; swift-log's handlers are thread-safe.
let kafkaLogCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = { handle, level, facility, message in
    let client = handle.map { String(cString: rd_kafka_name($0)) } ?? "rdkafka"
    KafkaLog.log(level: level, facility: facility.map { String(cString: $0) } ?? "", message: message.map { String(cString: $0) } ?? "", client: client)
}
