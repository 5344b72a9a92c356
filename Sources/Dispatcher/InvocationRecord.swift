import Functions
import ChatfnCore
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Workers

/// One invocation as published to `chatfn.invocations`: JSON, keyed by `app/trigger`.
///
/// `{"invocationId", "appId", "trigger", "functionVersion", "versionNumber" (registry functions), "eventId", "attempt", "status", "durationMs",
///   "coldStart", "workerPid", "error": {"name", "message", "stack"} | null, "logs": ["[level] text"],
///   "emitted", "source": {"topic", "partition", "offset"}, "timeMs"}`
enum InvocationRecord {
    static func producerRecord(for report: InvocationReport, topic: String) -> ProducerRecord {
        let result = report.result
        var json = JSONWriter(capacity: 512)
        json.field("invocationId", result.invocationId)
        json.field("appId", report.attributes.appId)
        json.field("trigger", report.attributes.type)
        json.field("functionVersion", report.function.version)
        if let number = report.function.versionNumber { json.field("versionNumber", number) }
        json.field("eventId", report.attributes.id)
        json.field("attempt", report.attempt)
        json.field("status", result.status.rawValue)
        json.field("durationMs", result.duration.fractionalMilliseconds)
        json.field("coldStart", result.coldStart)
        json.field("workerPid", result.workerPid.map { Int($0) } ?? -1)
        json.field("error", json: result.error.map { error in
            var object = JSONWriter()
            object.field("name", error.name)
            object.field("message", error.message)
            object.field("stack", error.stack)
            return object.finish()
        })
        json.field("logs", strings: result.logs.map { "[\($0.level)] \($0.message)" })
        json.field("emitted", result.emits.count)
        var source = JSONWriter(capacity: 64)
        source.field("topic", report.position.topic)
        source.field("partition", Int(report.position.partition))
        source.field("offset", report.position.offset)
        json.field("source", json: source.finish())
        json.field("timeMs", EpochMilliseconds.now())
        if let traceparent = report.traceparent { json.field("traceparent", traceparent) }
        var headers = [KafkaHeader(key: "content-type", string: "application/json")]
        if let traceparent = report.traceparent { headers.append(KafkaHeader(key: TraceParent.header, string: traceparent)) }
        return ProducerRecord(
            topic: topic, key: Array("\(report.attributes.appId)/\(report.attributes.type)".utf8), value: json.finish(), headers: headers)
    }
}
