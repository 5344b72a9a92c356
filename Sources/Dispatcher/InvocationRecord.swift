import EventConsumer
import Foundation
import Workers

/// One invocation as published to `chatfn.invocations` (JSON, keyed by `app/trigger`).
struct InvocationRecord: Encodable {
    struct Source: Encodable {
        var topic: String
        var partition: Int32
        var offset: Int64
    }

    var invocationId: String
    var appId: String
    var trigger: String
    var functionVersion: String
    var eventId: String
    var attempt: Int
    var status: InvocationStatus
    var durationMs: Double
    var coldStart: Bool
    var workerPid: Int32?
    var error: InvocationError?
    var logs: [String]
    var emitted: Int
    var source: Source
    var time: String

    init(_ report: InvocationReport) {
        let result = report.result
        invocationId = result.invocationId
        appId = report.attributes.appId
        trigger = report.attributes.type
        functionVersion = report.function.version
        eventId = report.attributes.id
        attempt = report.attempt
        status = result.status
        durationMs = Double(result.duration.components.seconds) * 1_000 + Double(result.duration.components.attoseconds) / 1e15
        coldStart = result.coldStart
        workerPid = result.workerPid
        error = result.error
        logs = result.logs.map { "[\($0.level)] \($0.message)" }
        emitted = result.emits.count
        source = Source(topic: report.position.topic, partition: report.position.partition, offset: report.position.offset)
        time = Date().formatted(.iso8601)
    }

    func producerRecord(topic: String) -> ProducerRecord? {
        guard let value = try? JSONEncoder().encode(self) else { return nil }
        return ProducerRecord(topic: topic, key: Array("\(appId)/\(trigger)".utf8), value: Array(value),
                              headers: [KafkaHeader(key: "content-type", string: "application/json")])
    }
}
