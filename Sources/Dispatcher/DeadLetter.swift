import EventConsumer
import Foundation

/// The dead-letter topic's record format: the original key, value and headers, plus `chatfn_dlq_*`
/// headers that say what went wrong and where the record came from (so it can be replayed there).
public enum DeadLetter {
    public static let headerPrefix = "chatfn_dlq_"

    public static func record(for original: KafkaRecord, topic: String, reason: DeadLetterReason, functionVersion: String?) -> ProducerRecord {
        var headers = original.headers.filter { !$0.key.hasPrefix(headerPrefix) }
        let annotations: [(String, String?)] = [
            ("reason", reason.code),
            ("error", reason.description),
            ("status", reason.status),
            ("attempts", String(reason.attempts)),
            ("function_version", functionVersion),
            ("source_topic", original.topic),
            ("source_partition", String(original.partition)),
            ("source_offset", String(original.offset)),
            ("time", Date().formatted(.iso8601)),
        ]
        for case let (name, value?) in annotations { headers.append(KafkaHeader(key: headerPrefix + name, string: value)) }
        return ProducerRecord(topic: topic, key: original.key, value: original.value, headers: headers)
    }

    /// The record as it was before it was dead-lettered, addressed to its source topic.
    public static func replay(_ deadLetter: KafkaRecord) -> ProducerRecord? {
        guard let source = deadLetter.headers.last(named: headerPrefix + "source_topic")?.stringValue else { return nil }
        return ProducerRecord(
            topic: source, key: deadLetter.key, value: deadLetter.value,
            headers: deadLetter.headers.filter { !$0.key.hasPrefix(headerPrefix) })
    }
}
