import ChatEvents
import ChatfnCore
import Foundation
import KafkaClient
import Testing

/// The CloudEvents distributed-tracing extension through an invocation: `ce_traceparent` in, a span that
/// is its child exported over OTLP (to a receiver started here), `context.traceparent` in the function,
/// and the invocation's `traceparent` on every record it leads to.
@Suite("Traces")
struct TracingTests {
    static let traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let parentSpanId = "00f067aa0ba902b7"
    static let parent = "00-\(traceId)-\(parentSpanId)-01"

    @Test("ce_traceparent in, a child span out over OTLP, context.traceparent, and ce_traceparent on commands, dead letters, invocation records and replies")
    func traceparentFlowsThrough() async throws {
        let lane = try await LaneFixture.make(
            functions: [
                "test.traced": """
                    async function handleEvent(event, context) {
                      await fetch(process.env.RECORDER_URL, { method: 'POST', body: JSON.stringify({ id: context.eventId, traceparent: context.traceparent }) });
                      context.emit('order.noted', { by: context.eventId });
                    }
                    """,
                "test.doomed": "async function handleEvent() { throw new Error('no'); }",
                "user.attempted.start_session": "async function handleEvent(event, context) { return { user: { displayName: context.traceparent } }; }",
            ],
            settings: ["test.doomed": ["maxAttempts": 1]])
        defer { Task { await lane.tearDown() } }
        let otlp = try await HTTPRecorder.start()
        defer { Task { await otlp.shutdown() } }
        let chatfn = try lane.startChatfn(environment: [
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.baseURL, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_BSP_SCHEDULE_DELAY": "100",
        ])
        defer { chatfn.signal(SIGTERM) }
        try await eventually("chatfn running", timeout: .seconds(60)) { chatfn.stdout.contains("chatfn: API on http://") }

        for (trigger, id) in [("test.traced", "traced-1"), ("test.doomed", "doomed-1")] {
            try await lane.producer.send(CloudEventKafkaBinding.binaryRecord(
                topic: "chatfn.events", key: nil, attributes: CloudEventAttributes(id: id, type: trigger, source: "tests", traceparent: Self.parent),
                data: Array("{}".utf8)))
        }
        var request = HostileInputTests.request("user.attempted.start_session", id: "blocking-1", deadlineMs: EpochMilliseconds.now() + 20_000)
        request.headers.append(KafkaHeader(key: TraceParent.header, string: Self.parent))
        try await lane.producer.send(request)

        // The function saw a traceparent of the same trace, with a span of its own.
        let runs = try await lane.recorder.waitForCount(1)
        let seen = try #require(runs.first?["traceparent"] as? String)
        #expect(seen.hasPrefix("00-\(Self.traceId)-") && !seen.contains(Self.parentSpanId), "\(seen)")

        // Every record the invocation led to carries it.
        let commands = try await eventuallyRecords("chatfn.commands", lane) { !$0.isEmpty }
        #expect(commands.first?.headers.last(named: TraceParent.header)?.stringValue == seen)
        let invocations = try await eventuallyRecords("chatfn.invocations", lane) { $0.count >= 3 }
        let tracedRecord = invocations.first { String(decoding: $0.value, as: UTF8.self).contains("traced-1") }
        #expect(tracedRecord?.headers.last(named: TraceParent.header)?.stringValue == seen)
        let deadLetters = try await eventuallyRecords("chatfn.dlq", lane) { !$0.isEmpty }
        let deadTrace = try #require(deadLetters.first?.headers.last(named: TraceParent.header)?.stringValue)
        #expect(deadTrace.hasPrefix("00-\(Self.traceId)-") && deadTrace != Self.parent, "the failed invocation's, not the event's: \(deadTrace)")
        let replies = try await eventuallyRecords("chatfn.replies", lane) { !$0.isEmpty }
        let replyTrace = try #require(replies.first?.headers.last(named: TraceParent.header)?.stringValue)
        #expect(replyTrace.hasPrefix("00-\(Self.traceId)-") && replyTrace != Self.parent, "\(replyTrace)")

        // The spans reached the OTLP receiver, children of the event's span.
        try await eventually("three spans exported", timeout: .seconds(30)) { Self.exportedSpans(otlp).count >= 3 }
        let spans = Self.exportedSpans(otlp)
        #expect(spans.allSatisfy { Self.hex($0["traceId"]) == Self.traceId }, "\(spans)")
        #expect(spans.allSatisfy { Self.hex($0["parentSpanId"]) == Self.parentSpanId }, "\(spans)")
        #expect(Set(spans.compactMap { $0["name"] as? String }) == ["test.traced", "test.doomed", "user.attempted.start_session"], "\(spans)")
        #expect(spans.contains { Self.hex($0["spanId"]) == String(seen.split(separator: "-")[2]) }, "the function's traceparent names its span")
    }

    /// An id of an OTLP/JSON span as hex: protobuf's JSON mapping writes bytes as base64.
    static func hex(_ value: Any?) -> String? {
        guard let text = value as? String else { return nil }
        if text.count == 32 || text.count == 16, text.allSatisfy(\.isHexDigit) { return text.lowercased() }
        return Data(base64Encoded: text).map { $0.map { String(format: "%02x", $0) }.joined() }
    }

    /// Every span in the OTLP/JSON export requests received.
    static func exportedSpans(_ otlp: HTTPRecorder) -> [[String: Any]] {
        otlp.received().flatMap { request -> [[String: Any]] in
            let resourceSpans = request["resourceSpans"] as? [[String: Any]] ?? []
            return resourceSpans.flatMap { ($0["scopeSpans"] as? [[String: Any]] ?? []).flatMap { $0["spans"] as? [[String: Any]] ?? [] } }
        }
    }

    func eventuallyRecords(_ topic: String, _ lane: LaneFixture, until done: @escaping @Sendable ([KafkaRecord]) -> Bool) async throws -> [KafkaRecord] {
        try await eventually("records in \(topic)", timeout: .seconds(30)) { done(try await TopicReader.readAll(topic: topic, configuration: lane.kafka)) }
        return try await TopicReader.readAll(topic: topic, configuration: lane.kafka)
    }
}
