import Functions
import ChatfnCore
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation

/// The dead-letter topic's record format: the original key, value and headers, plus `chatfn_dlq_*`
/// headers that say what went wrong and where the record came from (so it can be replayed there).
package enum DeadLetter {
    package static let headerPrefix = "chatfn_dlq_"
    /// Set on a dead letter whose value had to be left out (the broker refused the whole record).
    package static let valueOmitted = headerPrefix + "value_omitted"
    static let maxErrorBytes = 8 * 1024
    /// What a reduced dead letter keeps of the original key and of each original header.
    static let maxKeptBytes = 1024

    /// - Parameter traceparent: the last invocation's, which replaces the event's (its parent).
    package static func record(for original: KafkaRecord, topic: String, reason: DeadLetterReason, functionVersion: String?,
                               traceparent: String? = nil) -> ProducerRecord {
        var headers = original.headers.filter { !$0.key.hasPrefix(headerPrefix) && (traceparent == nil || $0.key != TraceParent.header) }
        if let traceparent { headers.append(KafkaHeader(key: TraceParent.header, string: traceparent)) }
        let annotations: [(String, String?)] = [
            ("reason", reason.code),
            ("error", reason.description.truncated(toUTF8Bytes: maxErrorBytes)),
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

    /// `deadLetter` cut to what any broker accepts, for when it was refused as too large: no value (its
    /// size and the reason in headers), the key and original headers only where they are small. nil when
    /// it is reduced already.
    package static func reduced(_ deadLetter: ProducerRecord) -> ProducerRecord? {
        guard deadLetter.headers.last(named: valueOmitted) == nil else { return nil }
        var headers = deadLetter.headers.filter {
            $0.key.hasPrefix(headerPrefix) || ($0.key.utf8.count <= 256 && ($0.value?.count ?? 0) <= maxKeptBytes)
        }
        let droppedHeaders = deadLetter.headers.count - headers.count
        headers.append(KafkaHeader(key: valueOmitted, string: "too_large"))
        headers.append(KafkaHeader(key: headerPrefix + "value_bytes", string: String(deadLetter.value.count)))
        if droppedHeaders > 0 { headers.append(KafkaHeader(key: headerPrefix + "headers_omitted", string: String(droppedHeaders))) }
        let key = deadLetter.key.flatMap { $0.count <= maxKeptBytes ? $0 : nil }
        return ProducerRecord(topic: deadLetter.topic, partition: deadLetter.partition, key: key, value: [], headers: headers)
    }

    /// Why `deadLetter` cannot be replayed, if it cannot.
    package static func replayProblem(_ deadLetter: KafkaRecord) -> String? {
        if deadLetter.headers.last(named: valueOmitted) != nil { return "its value was too large to keep in the dead-letter topic" }
        if deadLetter.headers.last(named: headerPrefix + "source_topic") == nil { return "no source topic recorded" }
        return nil
    }

    /// The record as it was before it was dead-lettered, addressed to its source topic; nil when
    /// ``replayProblem(_:)`` names a reason.
    package static func replay(_ deadLetter: KafkaRecord) -> ProducerRecord? {
        guard replayProblem(deadLetter) == nil,
              let source = deadLetter.headers.last(named: headerPrefix + "source_topic")?.stringValue else { return nil }
        return ProducerRecord(
            topic: source, key: deadLetter.key, value: deadLetter.value,
            headers: deadLetter.headers.filter { !$0.key.hasPrefix(headerPrefix) })
    }
}
