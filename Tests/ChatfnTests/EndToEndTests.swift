import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Testing

/// The whole path, as users run it: events published to Kafka, `chatfn dev` (the real executable)
/// consuming them, Node workers running the function, which POSTs to an HTTP server the test runs.
@Suite("End to end: Kafka → chatfn → Node function")
struct EndToEndTests {
    static let recordingFunction = """
        async function handleEvent(event, context) {
          // Jitter, so that events of different keys overtake each other.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
          console.log(`seq ${event.seq} of ${event.key}`);
          const response = await fetch(process.env.RECORDER_URL, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ eventId: context.eventId, key: event.key, seq: event.seq, trigger: context.trigger, appId: context.appId }),
          });
          if (!response.ok) throw new Error(`recorder answered ${response.status}`);
        }
        """

    @Test("every event runs once, in order per key; bad records are skipped; SIGTERM commits and a restart resumes")
    func eventsRunInKeyOrderAndResumeAfterRestart() async throws {
        let broker = try EmbeddedKafkaBroker()
        for topic in LaneFixture.topics { try broker.createTopic(topic, partitions: 4) }
        let recorder = try await HTTPRecorder.start()
        let fixture = try FunctionsFixture(
            functions: ["test.ordered": Self.recordingFunction], environment: ["RECORDER_URL": recorder.url])
        defer { fixture.remove() }
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: broker.bootstrapServers))

        let keys = (0..<5).map { "user-\($0)" }
        func publish(_ seqs: Range<Int>) async throws {
            for seq in seqs {
                for key in keys {
                    try await producer.send(try eventRecord(
                        trigger: "test.ordered", id: "\(key)-\(seq)", key: key, data: ["key": key, "seq": seq]))
                }
            }
        }
        // Bad input among good events: not a CloudEvent, and a CloudEvent whose data is not JSON.
        try await producer.send(ProducerRecord(topic: "chatfn.events", key: Array("user-0".utf8), value: Array("plain text".utf8)))
        try await producer.send(ProducerRecord(
            topic: "chatfn.events", key: Array("user-1".utf8), value: Array("{oops".utf8),
            headers: [KafkaHeader(key: "ce_type", string: "test.ordered"), KafkaHeader(key: "ce_id", string: "bad-json"),
                      KafkaHeader(key: "ce_source", string: "tests")]))
        try await producer.send(try eventRecord(trigger: "test.unhandled", id: "no-function", key: "user-2", data: [:]))
        try await publish(0..<20)

        // `chatfn run`, the production entry point (no embedded broker, no redeploying).
        let admin = try await freeLocalPort()
        let arguments = ["run", "--kafka", broker.bootstrapServers, "--functions", fixture.root.path, "--group", "e2e", "--log-level", "debug",
                         "--admin", "127.0.0.1:\(admin)"]
        let chatfn = try ChatfnProcess(arguments)
        let firstRun = try await recorder.waitForCount(100)
        try Self.expectEachOnceInKeyOrder(firstRun, keys: keys, seqs: 0..<20)
        #expect(firstRun.allSatisfy { $0["trigger"] as? String == "test.ordered" && $0["appId"] as? String == "default" })
        try await eventually("the last invocation reported") { chatfn.stdout.components(separatedBy: " test.ordered ").count > 100 }
        let report = chatfn.stdout
        #expect(report.contains("dead-lettered - at chatfn.events/"))
        #expect(report.contains("malformed event: no ce_type header"))
        #expect(report.contains("test.ordered bad-json invalid_event"))
        #expect(report.contains("dead-lettered bad-json at chatfn.events/"))
        #expect(report.contains("skipped no-function at chatfn.events/"))
        #expect(report.contains("no function deployed for test.unhandled"))
        #expect(report.contains("test.ordered user-3-7 succeeded"))
        #expect(report.contains("  │ seq 7 of user-3"))

        // The operators' endpoints.
        #expect(try await httpGet("http://127.0.0.1:\(admin)/healthz").0 == 200)
        #expect(try await httpGet("http://127.0.0.1:\(admin)/readyz").0 == 200)
        // The stdout wait above also counts the run banner's " test.ordered " line, so it can pass one invocation early.
        try await eventually("every invocation counted") {
            let counted = metricSum(try await httpGet("http://127.0.0.1:\(admin)/metrics").1, "chatfn_invocation_duration_seconds_count", ["trigger": "test.ordered"])
            return counted ?? 0 >= 101
        }
        let (metricsStatus, metrics) = try await httpGet("http://127.0.0.1:\(admin)/metrics")
        #expect(metricsStatus == 200)
        #expect(metricSum(metrics, "chatfn_invocations_total", ["app": "default", "trigger": "test.ordered"]) == 101, "100 events and the bad-JSON one ran: \(metrics)")
        #expect(metricSum(metrics, "chatfn_invocations_total", ["status": "invalid_event"]) == 1)
        #expect(metricSum(metrics, "chatfn_dead_letters_total") == 2 && metricSum(metrics, "chatfn_dead_letters_total", ["reason": "malformed"]) == 1)
        #expect(metricSum(metrics, "chatfn_events_without_function_total") == 1)
        #expect(metricSum(metrics, "chatfn_invocation_duration_seconds_count", ["trigger": "test.ordered"]) == 101)
        #expect(metricSum(metrics, "chatfn_workers", ["app": "default", "lane": "events"]) ?? 0 >= 1)

        chatfn.signal(SIGTERM)
        #expect(try await chatfn.waitForExit() == 0)

        try await publish(20..<22)
        let restarted = try ChatfnProcess(arguments)
        let secondRun = try await recorder.waitForCount(110)
        // Committed to the end: whatever would run again (from before the last commit) has run by now.
        try await waitUntilCommittedToEnd(group: "e2e", topic: "chatfn.events", partitions: 4,
                                          kafka: KafkaConfiguration(bootstrapServers: broker.bootstrapServers))
        try Self.expectEachOnceInKeyOrder(recorder.received(), keys: keys, seqs: 0..<22)
        #expect(secondRun.count == 110)
        restarted.signal(SIGINT)
        #expect(try await restarted.waitForExit() == 0)
        await producer.shutdown()
        await recorder.shutdown()
    }

    static func expectEachOnceInKeyOrder(_ received: [[String: any Sendable]], keys: [String], seqs: Range<Int>) throws {
        #expect(received.count == keys.count * seqs.count)
        for key in keys {
            let order = received.filter { $0["key"] as? String == key }.compactMap { $0["seq"] as? Int }
            #expect(order == Array(seqs), "events of \(key) ran out of order or not exactly once")
        }
    }

    @Test("chatfn test runs a function once on a sample event, without Kafka, and fails when the function does")
    func testCommand() async throws {
        let fixture = try FunctionsFixture(functions: [
            "user.sent.message": "async function handleEvent(event, context) { console.log(`hi ${event.user.name}`); context.emit('audit.logged', { n: 1 }); return { seen: event.user.name, env: process.env.GREETING }; }",
            "user.attempted.start_session": "async function handleEvent(event, context) { context.deny('no', 'Nope.'); }",
        ], environment: ["GREETING": "hello"])
        defer { fixture.remove() }
        let (status, output) = try await ChatfnProcess.run(
            ["test", "user.sent.message", "--functions", fixture.root.path, "--event", #"{"user":{"name":"ada"}}"#])
        #expect(status == 0)
        #expect(output.contains("user.sent.message succeeded in"))
        #expect(output.contains("  │ hi ada"))
        #expect(output.contains(#"result: {"seen":"ada","env":"hello"}"#))
        #expect(output.contains(#"emits audit.logged: {"n":1}"#))
        let (deniedStatus, denied) = try await ChatfnProcess.run(
            ["test", "user.attempted.start_session", "--functions", fixture.root.path, "--event", #"{"username":"eve"}"#])
        #expect(deniedStatus == 1)
        let decisionLine = try #require(denied.split(separator: "\n").first { $0.hasPrefix("decision: ") })
        let decision = try Decision.decode(Array(decisionLine.dropFirst("decision: ".count).utf8))
        #expect(decision.decision == .deny && decision.status == "failed" && decision.reason == "no" && decision.userMessage == "Nope.")
        let (missingStatus, _) = try await ChatfnProcess.run(["test", "nothing.here", "--functions", fixture.root.path, "--event", "{}"])
        #expect(missingStatus != 0)
        // --data, as emit and call take it; a missing file is said to be one.
        let (dataStatus, dataOutput) = try await ChatfnProcess.run(
            ["test", "user.sent.message", "--functions", fixture.root.path, "--data", #"{"user":{"name":"grace"}}"#])
        #expect(dataStatus == 0 && dataOutput.contains("  │ hi grace"), "\(dataOutput)")
        let noFile = try ChatfnProcess(["test", "user.sent.message", "--functions", fixture.root.path, "--data", "@/nonexistent/event.json"],
                                       includingErrors: true)
        #expect(try await noFile.waitForExit() != 0)
        #expect(noFile.stdout.contains("--data @/nonexistent/event.json: file not found"), "\(noFile.stdout)")
        let notJSON = try ChatfnProcess(["emit", "user.sent.message", "--data", "{nope", "--kafka", "127.0.0.1:9"], includingErrors: true)
        #expect(try await notJSON.waitForExit() != 0)
        #expect(notJSON.stdout.contains("--data:1:2: the event data is not JSON: expected a key in double quotes"), "\(notJSON.stdout)")
        let (noBrokerStatus, _) = try await ChatfnProcess.run(["run", "--functions", fixture.root.path], environment: ["CHATFN_KAFKA": ""])
        #expect(noBrokerStatus != 0, "chatfn run needs a broker")
    }

    @Test("chatfn emit publishes a binary-mode CloudEvent any consumer can read")
    func emitPublishesCloudEvent() async throws {
        let broker = try EmbeddedKafkaBroker()
        try broker.createTopic("chatfn.events", partitions: 1)
        let (status, output) = try await ChatfnProcess.run([
            "emit", "user.received.notification", "--kafka", broker.bootstrapServers, "--key", "user-14",
            "--id", "evt-1", "--app", "acme", "--data", #"{"user":{"name":"ada"},"userHasActiveSession":false}"#,
        ])
        #expect(status == 0)
        #expect(output.contains("published user.received.notification id=evt-1 to chatfn.events/0@0"))

        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(
                kafka: KafkaConfiguration(bootstrapServers: broker.bootstrapServers), groupId: "emit-check", topics: ["chatfn.events"]),
            logger: testLogger)
        let record = try await RecordCollector(consumer).waitForCount(1)[0]
        let (attributes, mode) = try CloudEventKafkaBinding.decode(record)
        #expect(mode == .binary)
        #expect(attributes.type == "user.received.notification" && attributes.id == "evt-1" && attributes.appId == "acme")
        #expect(attributes.source == "chatfn-cli" && attributes.time != nil)
        #expect(record.key == Array("user-14".utf8))
        #expect(String(decoding: record.value, as: UTF8.self) == #"{"user":{"name":"ada"},"userHasActiveSession":false}"#)
        await consumer.shutdown()

        let (badStatus, _) = try await ChatfnProcess.run(["emit", "x.y", "--kafka", broker.bootstrapServers, "--data", "{nope"])
        #expect(badStatus != 0)
    }
}
