import ChatEvents
import KafkaClient
import EventConsumer
import Testing

@Suite("CloudEvents Kafka protocol binding")
struct CloudEventBindingTests {
    private func record(headers: [KafkaHeader], value: String) -> KafkaRecord {
        KafkaRecord(position: RecordPosition(topic: "t", partition: 0, offset: 0), key: nil,
                    value: Array(value.utf8), headers: headers, timestampMs: nil)
    }

    @Test("binary mode reads ce_ headers; appid defaults to default; data stays untouched")
    func binaryMode() throws {
        let written = CloudEventKafkaBinding.binaryRecord(
            topic: "t", key: nil, attributes: CloudEventAttributes(id: "e1", type: "user.sent.message", source: "chat", time: "2026-11-25T00:00:00Z"),
            data: Array(#"{"a":1}"#.utf8))
        #expect(!written.headers.contains { $0.key == "ce_appid" })
        let (attributes, mode) = try CloudEventKafkaBinding.decode(record(headers: written.headers, value: #"{"a":1}"#))
        #expect(mode == .binary)
        #expect(attributes == CloudEventAttributes(id: "e1", type: "user.sent.message", source: "chat", time: "2026-11-25T00:00:00Z"))
        #expect(attributes.appId == "default")
    }

    @Test("structured mode reads the envelope's attributes and its appid extension")
    func structuredMode() throws {
        let envelope = #"{"specversion":"1.0","id":"e2","type":"user.received.notification","source":"chat","appid":"acme","data":{"x":1}}"#
        let (attributes, mode) = try CloudEventKafkaBinding.decode(record(
            headers: [KafkaHeader(key: "content-type", string: "application/cloudevents+json; charset=utf-8")], value: envelope))
        #expect(mode == .structured)
        #expect(attributes.id == "e2" && attributes.type == "user.received.notification" && attributes.appId == "acme")
    }

    @Test("records that are not CloudEvents are refused with a reason", arguments: [
        ([KafkaHeader(key: "ce_id", string: "1")], "{}", "no ce_type header"),
        ([KafkaHeader(key: "ce_type", string: "a.b")], "{}", "no ce_id header"),
        ([KafkaHeader(key: "ce_type", string: "a.b"), KafkaHeader(key: "ce_id", string: "1"), KafkaHeader(key: "ce_specversion", string: "0.3")], "{}", "unsupported CloudEvents specversion 0.3"),
        ([KafkaHeader(key: "content-type", string: "application/cloudevents+json")], "{oops", "not valid JSON"),
        ([KafkaHeader(key: "content-type", string: "application/cloudevents+json")], #"{"id":"1"}"#, "has no \"type\""),
    ])
    func refusals(headers: [KafkaHeader], value: String, reason: String) {
        #expect {
            _ = try CloudEventKafkaBinding.decode(record(headers: headers, value: value))
        } throws: { error in
            (error as? CloudEventDecodingError)?.reason.contains(reason) == true
        }
    }
}
