import ChatFunctionsClient
import ChatfnCore
import Dispatcher
import Functions
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
@testable import Workers
import Testing

/// Records and settings an attacker (or a mistake) can send: none may crash chatfn, stall a partition,
/// borrow chatfn's write access or forge its log lines (docs/security.md).
@Suite("Hostile input")
struct HostileInputTests {
    static func request(_ trigger: String, id: String, replyTo: String = "chatfn.replies", partition: Int32 = 0,
                        deadlineMs: Int64, data: String = #"{"username":"ada"}"#) -> ProducerRecord {
        var record = CloudEventKafkaBinding.binaryRecord(
            topic: "chatfn.requests", key: nil, attributes: CloudEventAttributes(id: id, type: trigger, source: "tests"), data: Array(data.utf8))
        record.headers += BlockingRequest(correlationId: id, replyTo: replyTo, replyPartition: partition, deadlineMs: deadlineMs).headers
        return record
    }

    static func deadLetters(_ lane: LaneFixture) async throws -> [DeadLetterEntry] {
        try await TopicReader.readAll(topic: "chatfn.dlq", configuration: lane.kafka).map(DeadLetterEntry.init)
    }

    @Test("numbers at the edge of Int64 in a deadline, a timestamp or chatfn.json crash nothing")
    func overflowingNumbers() async throws {
        let lane = try await LaneFixture.make(
            functions: [
                "test.fail": "module.exports = async () => { throw new Error('always'); };",
                "test.ok": recordingFunction,
                "user.attempted.start_session": "module.exports = async (event) => ({ user: { displayName: event.username } });",
            ],
            settings: ["test.fail": ["maxAttempts": 3, "retryBackoffMs": 10, "retryBackoffMaxMs": 20]], partitions: 1)
        defer { Task { await lane.tearDown() } }
        let chatfn = try lane.startChatfn(includingErrors: true)
        try await lane.producer.send(Self.request("user.attempted.start_session", id: "poison-deadline", deadlineMs: .min))
        var ancient = try eventRecord(trigger: "test.fail", id: "poison-time", key: "k", data: [:])
        ancient.timestampMs = .min
        try await lane.producer.send(ancient)

        try await eventually("the ancient event dead-lettered as too old") {
            try await Self.deadLetters(lane).contains { $0.eventId == "poison-time" && $0.reason == "max_event_age" }
        }
        let client = try await ChatFunctionsClient.connect(ChatFunctionsClient.Configuration(kafka: lane.kafka))
        let decision = await client.call(trigger: "user.attempted.start_session", data: Array(#"{"username":"ada"}"#.utf8),
                                         timeout: LaneFixture.firstCallTimeout, fallback: .deny)
        #expect(decision.decision == .allow && decision.status == "succeeded", "chatfn survived the poison deadline: \(decision)")

        let manifest: [String: Any] = ["app": "default", "runtime": ["environment": ["RECORDER_URL": lane.recorder.url]],
                                       "functions": ["test.ok": ["timeoutMs": 1e16]]]
        try JSONSerialization.data(withJSONObject: manifest).write(to: lane.application.root.appendingPathComponent("chatfn.json"))
        try await eventually("the reload refused") { chatfn.stdout.contains("timeoutMs: must be between 1 and 900000") }
        try await lane.publish("test.ok", id: "after-reload", key: "k2", data: ["n": 1])
        _ = try await lane.recorder.waitForCount(1)
        chatfn.signal(SIGTERM)
        #expect(try await chatfn.waitForExit() == 0, "chatfn ran to a clean exit")
    }

    @Test("what cannot be published is reduced or given up, and the partition moves on; wrong-lane triggers and forged ids are handled")
    func nothingStallsAPartition() async throws {
        let lane = try await LaneFixture.make(
            functions: [
                "test.ok": recordingFunction,
                "test.huge_emit": "module.exports = async (event, context) => { context.emit('big', 'x'.repeat(1024 * 1024)); };",
            ],
            settings: ["test.huge_emit": ["maxAttempts": 1]], partitions: 1)
        defer { Task { await lane.tearDown() } }
        let bigProducer = try KafkaProducer(configuration: KafkaConfiguration(
            bootstrapServers: lane.broker.bootstrapServers, properties: ["message.max.bytes": "3000000"]))
        let huge = ProducerRecord(topic: "chatfn.events", key: Array("k".utf8), value: Array(repeating: UInt8(ascii: "x"), count: 1_040_000),
                                  headers: [KafkaHeader(key: "ce_id", string: "huge-1")])
        try await bigProducer.send(huge)
        await bigProducer.shutdown()
        try await lane.publish("test.huge_emit", id: "emit-1", key: "k", data: [:])
        try await lane.publish("user.attempted.start_session", id: "wrong-lane-1", key: "k", data: ["username": "ada"])
        try await lane.publish("test.ok", id: "forged\n12:00:00.000 user.forged evil succeeded\u{1b}[2J", key: "k", data: ["n": 1])
        try await lane.publish("test.ok", id: "after-all", key: "k", data: ["n": 2])
        let chatfn = try lane.startChatfn()

        let seen = try await lane.recorder.waitForCount(2)
        #expect(seen.map { $0["eventId"] as? String } == ["forged\n12:00:00.000 user.forged evil succeeded\u{1b}[2J", "after-all"],
                "the partition moved on past every bad record")
        try await eventually("three dead letters") { try await Self.deadLetters(lane).count >= 3 }
        let letters = try await Self.deadLetters(lane)
        let reduced = try #require(letters.first { $0.record.headers.last(named: DeadLetter.valueOmitted) != nil })
        #expect(reduced.record.value.isEmpty && reduced.record.headers.last(named: "chatfn_dlq_value_bytes")?.stringValue == "1040000")
        #expect(DeadLetter.replayProblem(reduced.record) != nil)
        let emitted = try #require(letters.first { $0.eventId == "emit-1" })
        #expect(emitted.reason == "attempts_exhausted" && emitted.error.contains("above the limit"), "\(emitted.error)")
        let wrongLane = try #require(letters.first { $0.eventId == "wrong-lane-1" })
        #expect(wrongLane.reason == "wrong_lane")
        #expect(try await TopicReader.readAll(topic: "chatfn.commands", configuration: lane.kafka).isEmpty)

        let output = chatfn.stdout
        #expect(output.contains(#"forged\n12:00:00.000 user.forged evil succeeded\u{1b}[2J"#), "\(output)")
        #expect(!output.split(separator: "\n").contains { $0.hasPrefix("12:00:00.000 user.forged") }, "no forged line")
        chatfn.signal(SIGTERM)
        #expect(try await chatfn.waitForExit() == 0)
    }

    @Test("replies go only to chatfn's reply topics and existing partitions; a non-blocking trigger on the request topic is refused")
    func blockingRequestsCannotBorrowWrites() async throws {
        let lane = try await LaneFixture.make(
            functions: ["user.attempted.start_session": "module.exports = async (event) => ({ user: { displayName: event.username } });",
                        "test.ok": recordingFunction])
        defer { Task { await lane.tearDown() } }
        let chatfn = try lane.startChatfn()
        let soon = EpochMilliseconds.now() + 30_000
        try await lane.producer.send(Self.request("user.attempted.start_session", id: "foreign", replyTo: "chatfn.commands", deadlineMs: soon))
        try await lane.producer.send(Self.request("user.attempted.start_session", id: "new-topic", replyTo: "attacker.topic", deadlineMs: soon))
        try await lane.producer.send(Self.request("user.attempted.start_session", id: "no-partition", partition: 99, deadlineMs: soon))
        let client = try await ChatFunctionsClient.connect(ChatFunctionsClient.Configuration(kafka: lane.kafka))
        let allowed = await client.call(trigger: "user.attempted.start_session", data: Array(#"{"username":"ada"}"#.utf8), timeout: LaneFixture.firstCallTimeout, fallback: .deny)
        #expect(allowed.decision == .allow, "\(allowed)")
        let wrongLane = await client.call(trigger: "test.ok", data: Array("{}".utf8), timeout: .seconds(10), fallback: .allow)
        #expect(wrongLane.decision == .deny && wrongLane.status == "rejected", "\(wrongLane)")
        try await lane.producer.send(try eventRecord(topic: "chatfn.requests", trigger: "test.ok", id: "plain-on-requests", key: "k", data: [:]))
        try await eventually("the wrong-lane request and the plain event on the request topic dead-lettered") {
            let letters = try await Self.deadLetters(lane)
            return letters.filter { $0.reason == "wrong_lane" && $0.trigger == "test.ok" }.count == 2
                && letters.contains { $0.eventId == "plain-on-requests" }
        }
        #expect(try await TopicReader.readAll(topic: "chatfn.commands", configuration: lane.kafka).isEmpty, "nothing written to a foreign topic")
        let (status, topics) = try await lane.chatfn(["dlq", "list"])
        #expect(status == 0 && !topics.contains("attacker.topic"))
        chatfn.signal(SIGTERM)
        #expect(try await chatfn.waitForExit() == 0)
        #expect(lane.recorder.received().isEmpty, "the non-blocking function did not run on the request topic")
    }

    @Test("under 3,000 slow requests a later request is answered by chatfn before its deadline, not left to expire")
    func admissionControl() async throws {
        let lane = try await LaneFixture.make(functions: ["user.attempted.start_session": """
            module.exports = async (event) => {
              const until = Date.now() + 20; while (Date.now() < until) {}
              return { user: { displayName: event.username } };
            };
            """])
        defer { Task { await lane.tearDown() } }
        let chatfn = try lane.startChatfn()
        let client = try await ChatFunctionsClient.connect(ChatFunctionsClient.Configuration(kafka: lane.kafka))
        let warm = await client.call(trigger: "user.attempted.start_session", data: Array(#"{"username":"warm"}"#.utf8), timeout: LaneFixture.firstCallTimeout, fallback: .deny)
        #expect(warm.decision == .allow, "\(warm)")
        let deadline = EpochMilliseconds.now() + 4_000
        for n in 0..<3_000 {
            lane.producer.sendInBackground(Self.request("user.attempted.start_session", id: "slow-\(n)", deadlineMs: deadline))
        }
        _ = await lane.producer.flush()
        // The caller waits long enough for chatfn to answer even on a loaded machine; chatfn must answer
        // (overloaded, or the function's decision), not leave it to the caller's timeout.
        let later = await client.call(trigger: "user.attempted.start_session", data: Array(#"{"username":"later"}"#.utf8),
                                      timeout: .seconds(30), fallback: .allow)
        // Before admission control the later request waited behind a minute of busy functions.
        // chatfn's answer: turned away, or run (on a loaded machine it may run past its own 3 s timeout);
        // the caller's own timeout names no function version.
        #expect(later.status == "overloaded" || later.functionVersion != nil, "answered by chatfn, not the caller's timeout: \(later)")
        if later.status != "succeeded" { #expect(later.decision == .deny, "start_session fails closed") }
        chatfn.signal(SIGKILL)
        _ = try await chatfn.waitForExit()
    }
}

/// Synchronization that used to be a timer.
@Suite("No timer as synchronization")
struct NoTimerSynchronizationTests {
    @Test("a client call with a zero timeout returns its fallback at once instead of hanging")
    func zeroTimeoutCall() async throws {
        let lane = try await LaneFixture.make(functions: [:])
        defer { Task { await lane.tearDown() } }
        let client = try await ChatFunctionsClient.connect(ChatFunctionsClient.Configuration(kafka: lane.kafka))
        let decision = await withTaskGroup(of: Decision?.self) { group in
            group.addTask { await client.call(trigger: "user.attempted.start_session", data: Array("{}".utf8), timeout: .zero, fallback: .deny) }
            group.addTask { try? await Task.sleep(for: .seconds(10)); return nil }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        #expect(decision?.status == "timeout" && decision?.decision == .deny, "the call returned within 10 s: \(String(describing: decision))")

        let cancelled = Task { await client.call(trigger: "user.attempted.start_session", data: Array("{}".utf8), timeout: .seconds(600), fallback: .allow) }
        cancelled.cancel()
        let afterCancel = await cancelled.value
        #expect(afterCancel.status == "cancelled" && afterCancel.decision == .allow, "a cancelled call ends with its fallback")
        await client.shutdown()
    }

    @Test("a retired worker keeps its pipe open for the caller that picked it, then exits")
    func retireWaitsForItsCaller() async throws {
        let fixture = try FunctionsFixture(functions: ["test.ok": "module.exports = async () => 'ok';"])
        defer { fixture.remove() }
        let worker = try await WorkerProcess.launch(configuration: try WorkerConfiguration(), logger: testLogger)
        worker.beginUse()
        worker.retire(.recycled)
        let result = await worker.invoke(InvocationRequest(
            invocationId: "after-retire", functionFile: fixture.file(for: "test.ok").path, functionVersion: "v1", trigger: "test.ok",
            eventId: "e", appId: "default", payload: Array("{}".utf8)))
        #expect(result.status == .succeeded, "the caller that picked it before the retirement got through")
        #expect(worker.isAlive)
        worker.endUse()
        try await eventually("the retired worker exits once its caller is done") { !worker.isAlive }
    }
}
