import Dispatcher
import Functions
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Testing

/// Retries, dead letters, commands and invocation records, through the real `chatfn` executable.
@Suite("Non-blocking delivery")
struct DeliveryTests {
    static let flakyFunction = """
        async function handleEvent(event, context) {
          context.emit('notification.sent', { seq: event.seq, attempt: context.attempt }, { key: event.key });
          await fetch(process.env.RECORDER_URL, {
            method: 'POST',
            body: JSON.stringify({ key: event.key, seq: event.seq, attempt: context.attempt, eventId: context.eventId }),
          });
          if (event.failTimes >= context.attempt) throw new Error(`attempt ${context.attempt} of ${event.key}-${event.seq} failed`);
        }
        """

    @Test("a failing event is retried with context.attempt while its key waits and other keys go on; commands only from the success")
    func retryThenSucceed() async throws {
        let lane = try await LaneFixture.make(
            functions: ["test.flaky": Self.flakyFunction],
            settings: ["test.flaky": ["maxAttempts": 3, "retryBackoffMs": 1_000, "retryBackoffMaxMs": 2_000]])
        try await lane.publish("test.flaky", id: "slow-0", key: "slow", data: ["key": "slow", "seq": 0, "failTimes": 2])
        for seq in 0..<5 { try await lane.publish("test.flaky", id: "fast-\(seq)", key: "fast", data: ["key": "fast", "seq": seq, "failTimes": 0]) }
        try await lane.publish("test.flaky", id: "slow-1", key: "slow", data: ["key": "slow", "seq": 1, "failTimes": 0])
        let chatfn = try lane.startChatfn()

        let seen = try await lane.recorder.waitForCount(9)
        let steps = seen.map { "\($0["key"] as? String ?? "?")-\($0["seq"] as? Int ?? -1)#\($0["attempt"] as? Int ?? -1)" }
        let slow = steps.filter { $0.hasPrefix("slow") }
        #expect(slow == ["slow-0#1", "slow-0#2", "slow-0#3", "slow-1#1"], "the key's later event waited for its retries")
        let lastFast = try #require(steps.lastIndex { $0.hasPrefix("fast") })
        #expect(lastFast < steps.firstIndex(of: "slow-0#3")!, "other keys went on while slow-0 was backing off")

        try await eventually("the commands of 7 successful invocations") {
            try await TopicReader.readAll(topic: "chatfn.commands", configuration: lane.kafka).count >= 7
        }
        let commands = try await TopicReader.readAll(topic: "chatfn.commands", configuration: lane.kafka)
        let ids = commands.compactMap { $0.headers.last(named: "ce_id")?.stringValue }
        #expect(ids.sorted() == ["fast-0:0", "fast-1:0", "fast-2:0", "fast-3:0", "fast-4:0", "slow-0:0", "slow-1:0"])
        let slowCommand = try #require(commands.first { $0.headers.last(named: "ce_id")?.stringValue == "slow-0:0" })
        #expect(String(decoding: slowCommand.value, as: UTF8.self) == #"{"seq":0,"attempt":3}"#, "only the successful attempt's command")
        #expect(slowCommand.headers.last(named: "ce_type")?.stringValue == "notification.sent")
        #expect(slowCommand.key == Array("slow".utf8))

        try await eventually("an invocation record per attempt") {
            try await TopicReader.readAll(topic: "chatfn.invocations", configuration: lane.kafka).count >= 9
        }
        let invocations = try await TopicReader.readAll(topic: "chatfn.invocations", configuration: lane.kafka)
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.value)) as? [String: Any] }
        let slowAttempts = invocations.filter { $0["eventId"] as? String == "slow-0" }
            .sorted { ($0["attempt"] as? Int ?? 0) < ($1["attempt"] as? Int ?? 0) }
        #expect(slowAttempts.map { $0["status"] as? String } == ["failed", "failed", "succeeded"])
        #expect(slowAttempts.allSatisfy { $0["trigger"] as? String == "test.flaky" && $0["functionVersion"] as? String != nil })
        #expect(chatfn.stdout.contains("test.flaky slow-0 failed"))
        #expect(chatfn.stdout.contains("↻ retrying in"))
        chatfn.signal(SIGTERM)
        #expect(try await chatfn.waitForExit() == 0)
        await lane.tearDown()
    }

    @Test("a poison event is dead-lettered while its partition carries on; dlq list shows it; replay runs it again")
    func poisonEventIsDeadLetteredAndReplayed() async throws {
        let poisonous = """
            async function handleEvent(event, context) {
              if (event.poison) throw new Error('cannot handle poison');
              await fetch(process.env.RECORDER_URL, { method: 'POST', body: JSON.stringify({ seq: event.seq, eventId: context.eventId }) });
            }
            """
        let lane = try await LaneFixture.make(
            functions: ["test.poison": poisonous],
            settings: ["test.poison": ["maxAttempts": 2, "retryBackoffMs": 100, "retryBackoffMaxMs": 100]])
        // All on partition 0: the poison event sits between good events of its own and another key.
        try await lane.publish("test.poison", id: "poison", key: "a", data: ["seq": 0, "poison": true], partition: 0)
        for seq in 1...3 { try await lane.publish("test.poison", id: "a-\(seq)", key: "a", data: ["seq": seq], partition: 0) }
        for seq in 4...6 { try await lane.publish("test.poison", id: "b-\(seq)", key: "b", data: ["seq": seq], partition: 0) }
        try await lane.producer.send(ProducerRecord(topic: "chatfn.events", partition: 0, key: nil, value: Array("not an event".utf8)))
        try await lane.publish("test.poison", id: "b-7", key: "b", data: ["seq": 7], partition: 0)
        let chatfn = try lane.startChatfn(["--log-level", "info"], includingErrors: true)

        let good = try await lane.recorder.waitForCount(7)
        #expect(Set(good.compactMap { $0["seq"] as? Int }) == Set(1...7))
        try await eventually("the dead letters are listed") {
            let (_, listing) = try await lane.chatfn(["dlq", "list"])
            return listing.contains("2 dead-lettered event(s)")
        }
        let (status, listing) = try await lane.chatfn(["dlq", "list"])
        #expect(status == 0)
        #expect(listing.contains("test.poison poison reason=attempts_exhausted status=failed attempts=2 from=chatfn.events/0@0"))
        #expect(listing.contains("cannot handle poison"))
        #expect(listing.contains("reason=malformed status=rejected attempts=0 from=chatfn.events/0@7"))
        #expect(!listing.contains("data:"))
        let (_, withData) = try await lane.chatfn(["dlq", "list", "--show-data"])
        #expect(withData.contains("  data: not an event") && withData.contains(#""poison":true"#), "\(withData)")
        let (_, poisonOnly) = try await lane.chatfn(["dlq", "list", "--trigger", "test.poison"])
        #expect(poisonOnly.contains("1 dead-lettered event(s)"))
        let (_, none) = try await lane.chatfn(["dlq", "list", "--since", "2999-01-01T00:00:00Z"])
        #expect(none.contains("0 dead-lettered event(s)"))
        let (badSince, _) = try await lane.chatfn(["dlq", "list", "--since", "yesterday"])
        #expect(badSince != 0)

        // The fix is deployed (saved), then the dead letter replayed: it runs again with its own id.
        try lane.application.write(trigger: "test.poison", source: poisonous.replacingOccurrences(of: "if (event.poison) throw new Error('cannot handle poison');", with: ""))
        try await eventually("the fix deployed") { chatfn.stdout.contains("version=2 ") && chatfn.stdout.contains("deployed test.poison version 2") }
        let (replayStatus, replayOutput) = try await lane.chatfn(["dlq", "replay", "--trigger", "test.poison"])
        #expect(replayStatus == 0)
        #expect(replayOutput.contains("1 event(s) replayed"))
        let afterReplay = try await lane.recorder.waitForCount(8)
        #expect(afterReplay.last?["eventId"] as? String == "poison")
        chatfn.signal(SIGTERM)
        #expect(try await chatfn.waitForExit() == 0)
        await lane.tearDown()
    }

    @Test("stopping during a retry backoff gives the event up uncommitted: the restarted chatfn runs it again")
    func stopDuringBackoffRunsAgainAfterRestart() async throws {
        let lane = try await LaneFixture.make(
            functions: ["test.stubborn": Self.flakyFunction],
            settings: ["test.stubborn": ["maxAttempts": 5, "retryBackoffMs": 30_000, "retryBackoffMaxMs": 30_000]])
        try await lane.publish("test.stubborn", id: "stubborn-0", key: "k", data: ["key": "k", "seq": 0, "failTimes": 1])
        let chatfn = try lane.startChatfn()
        _ = try await lane.recorder.waitForCount(1)
        let stopping = ContinuousClock.now
        chatfn.signal(SIGTERM)
        #expect(try await chatfn.waitForExit() == 0)
        #expect(ContinuousClock.now - stopping < .seconds(20), "shutdown did not wait out the 30 s backoff")

        let restarted = try lane.startChatfn()
        let seen = try await lane.recorder.waitForCount(2)
        #expect(seen.map { $0["eventId"] as? String } == ["stubborn-0", "stubborn-0"])
        #expect(seen.map { $0["attempt"] as? Int } == [1, 1])
        restarted.signal(SIGTERM)
        #expect(try await restarted.waitForExit() == 0)
        await lane.tearDown()
    }
}
