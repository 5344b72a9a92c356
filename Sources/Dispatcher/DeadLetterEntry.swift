import Functions
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation

/// A record of the dead-letter topic, read back for `chatfn dlq`.
package struct DeadLetterEntry: Sendable {
    package var record: KafkaRecord
    package var trigger: String?
    package var eventId: String?
    /// The application (`ce_appid`) of the event.
    package var appId: String?
    package var reason: String
    package var error: String
    package var status: String
    package var attempts: Int
    package var functionVersion: String?
    package var source: RecordPosition?
    package var time: Date?

    package init(_ record: KafkaRecord) {
        func header(_ name: String) -> String? { record.headers.last(named: name)?.stringValue }
        func annotation(_ name: String) -> String? { header(DeadLetter.headerPrefix + name) }
        let structured = (try? CloudEventKafkaBinding.decode(record))?.0
        self.record = record
        trigger = header("ce_type") ?? structured?.type
        eventId = header("ce_id") ?? structured?.id
        appId = header("ce_appid") ?? structured?.appId
        reason = annotation("reason") ?? "unknown"
        error = annotation("error") ?? ""
        status = annotation("status") ?? ""
        attempts = annotation("attempts").flatMap(Int.init) ?? 0
        functionVersion = annotation("function_version")
        if let topic = annotation("source_topic"), let partition = annotation("source_partition").flatMap(Int32.init),
           let offset = annotation("source_offset").flatMap(Int64.init) {
            source = RecordPosition(topic: topic, partition: partition, offset: offset)
        }
        time = annotation("time").flatMap { try? Date($0, strategy: .iso8601) }
    }

    /// True when the entry matches the trigger (when given) and was dead-lettered at or after `since`.
    package func matches(trigger wanted: String?, since: Date?) -> Bool {
        if let wanted, trigger != wanted { return false }
        if let since, (time ?? .distantPast) < since { return false }
        return true
    }
}
