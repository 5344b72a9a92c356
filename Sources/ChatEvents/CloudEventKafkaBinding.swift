import ChatfnCore
import KafkaClient
import Foundation

/// Reads and writes CloudEvents in Kafka records per the CloudEvents Kafka protocol binding.
package enum CloudEventKafkaBinding {
    package static let structuredContentType = "application/cloudevents+json"

    /// Reads the routing attributes of `record`; in structured mode this parses the envelope's
    /// attributes, and the data is left in the value for the worker to take.
    package static func decode(_ record: KafkaRecord) throws(CloudEventDecodingError) -> (CloudEventAttributes, CloudEventContentMode) {
        let contentType = record.headers.last(named: "content-type")?.stringValue ?? ""
        if contentType.lowercased().hasPrefix(structuredContentType) {
            return (try decodeStructured(record.value), .structured)
        }
        return (try decodeBinary(record.headers), .binary)
    }

    private static func decodeBinary(_ headers: [KafkaHeader]) throws(CloudEventDecodingError) -> CloudEventAttributes {
        func header(_ name: String) -> String? {
            headers.last(named: name)?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let type = header("ce_type") else {
            throw CloudEventDecodingError(reason: "no ce_type header: the record is not a CloudEvent in binary mode, and its content-type is not \(structuredContentType)")
        }
        guard let id = header("ce_id") else { throw CloudEventDecodingError(reason: "no ce_id header (event type \(type))") }
        try checkSpecVersion(header("ce_specversion"))
        return CloudEventAttributes(
            id: id, type: type, source: header("ce_source") ?? "", time: header("ce_time"),
            appId: header("ce_appid") ?? CloudEventAttributes.defaultAppId, traceparent: header(TraceParent.header))
    }

    /// The routing attributes of a structured envelope; `data` is not decoded here (the worker takes it).
    private struct StructuredAttributes: Decodable {
        var id: String?
        var type: String?
        var source: String?
        var time: String?
        var appid: String?
        var specversion: String?
        var traceparent: String?
    }

    private static func decodeStructured(_ value: [UInt8]) throws(CloudEventDecodingError) -> CloudEventAttributes {
        let envelope: StructuredAttributes
        do {
            envelope = try JSONDecoder().decode(StructuredAttributes.self, from: Data(value))
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            throw CloudEventDecodingError(reason: "structured CloudEvent is not a JSON object")
        } catch let error as DecodingError {
            throw CloudEventDecodingError(reason: "structured CloudEvent is not valid JSON: \(error.readableDescription)")
        } catch {
            throw CloudEventDecodingError(reason: "structured CloudEvent is not valid JSON: \(error)")
        }
        func nonEmpty(_ text: String?) -> String? { text.flatMap { $0.isEmpty ? nil : $0 } }
        guard let type = nonEmpty(envelope.type) else { throw CloudEventDecodingError(reason: "structured CloudEvent has no \"type\"") }
        guard let id = nonEmpty(envelope.id) else { throw CloudEventDecodingError(reason: "structured CloudEvent has no \"id\" (event type \(type))") }
        try checkSpecVersion(nonEmpty(envelope.specversion))
        return CloudEventAttributes(
            id: id, type: type, source: envelope.source ?? "", time: nonEmpty(envelope.time),
            appId: nonEmpty(envelope.appid) ?? CloudEventAttributes.defaultAppId, traceparent: nonEmpty(envelope.traceparent))
    }

    /// Absent is read as 1.0, which is what chat platforms that omit it mean.
    private static func checkSpecVersion(_ version: String?) throws(CloudEventDecodingError) {
        if let version, version != "1.0" {
            throw CloudEventDecodingError(reason: "unsupported CloudEvents specversion \(version) (chatfn reads 1.0)")
        }
    }

    /// A binary-mode record carrying `data` (JSON bytes) with `attributes` as `ce_*` headers.
    package static func binaryRecord(topic: String, key: [UInt8]?, attributes: CloudEventAttributes, data: [UInt8]) -> ProducerRecord {
        var headers = [
            KafkaHeader(key: "ce_specversion", string: attributes.specVersion),
            KafkaHeader(key: "ce_id", string: attributes.id),
            KafkaHeader(key: "ce_type", string: attributes.type),
            KafkaHeader(key: "ce_source", string: attributes.source),
            KafkaHeader(key: "content-type", string: "application/json"),
        ]
        if let time = attributes.time { headers.append(KafkaHeader(key: "ce_time", string: time)) }
        if attributes.appId != CloudEventAttributes.defaultAppId {
            headers.append(KafkaHeader(key: "ce_appid", string: attributes.appId))
        }
        if let traceparent = attributes.traceparent { headers.append(KafkaHeader(key: TraceParent.header, string: traceparent)) }
        return ProducerRecord(topic: topic, key: key, value: data, headers: headers)
    }
}
