import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Testing

/// Crashes and broker faults: whatever happens, every event runs at least once.
@Suite("Fault tolerance")
struct FaultToleranceTests {
    static let jitteryRecorder = """
        async function handleEvent(event, context) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
          await fetch(process.env.RECORDER_URL, { method: 'POST', body: JSON.stringify({ id: context.eventId, key: event.key, seq: event.seq }) });
        }
        """

    private func publishMany(_ lane: LaneFixture, count: Int, keys: Int = 10, startingAt first: Int = 0) async throws {
        for seq in first..<(first + count) {
            let key = "user-\(seq % keys)"
            try await lane.publish("test.record", id: "event-\(seq)", key: key, data: ["key": key, "seq": seq])
        }
    }

    /// Per key, the first run of each event came in sequence order (re-runs may repeat a prefix).
    private func expectFirstRunsInKeyOrder(_ lane: LaneFixture, keys: Int) {
        for key in 0..<keys {
            let seqs = lane.recorder.received().filter { $0["key"] as? String == "user-\(key)" }.compactMap { $0["seq"] as? Int }
            var firstSeen: [Int] = []
            for seq in seqs where !firstSeen.contains(seq) { firstSeen.append(seq) }
            #expect(firstSeen == firstSeen.sorted(), "user-\(key) ran out of order")
        }
    }

    private func distinctIds(_ lane: LaneFixture) -> Set<String> {
        Set(lane.recorder.received().compactMap { $0["id"] as? String })
    }

    @Test("kill -9 mid-stream, then restart: every event runs at least once")
    func killNineThenRestart() async throws {
        // Slow enough that the kill lands while events still wait.
        let slowRecorder = Self.jitteryRecorder.replacingOccurrences(of: "Math.random() * 10", with: "20 + Math.random() * 10")
        let lane = try await LaneFixture.make(functions: ["test.record": slowRecorder])
        try await publishMany(lane, count: 300)
        let victim = try lane.startChatfn()
        _ = try await lane.recorder.waitForCount(60)
        victim.signal(SIGKILL)
        _ = try await victim.waitForExit()
        let beforeRestart = distinctIds(lane).count
        #expect(beforeRestart < 300, "the kill landed mid-stream")

        let survivor = try await lane.startedChatfn()
        try await eventually("all 300 events ran", timeout: .seconds(90)) { distinctIds(lane).count == 300 }
        // Per key, the first runs are in order: replays after the crash only repeat a prefix.
        expectFirstRunsInKeyOrder(lane, keys: 10)
        survivor.signal(SIGTERM)
        #expect(try await survivor.waitForExit() == 0)
        await lane.tearDown()
    }

    @Test("kill -9 of chatfn while its workers run a function that never yields: no Node process outlives it")
    func noOrphansAfterKillNine() async throws {
        // Once running, the worker never reads its pipe again: it cannot notice chatfn is gone by itself.
        let flood = "async function handleEvent(event, context) { await fetch(process.env.RECORDER_URL, { method: 'POST', body: '{}' }); for (;;) {} }"
        let lane = try await LaneFixture.make(functions: ["test.flood": flood])
        defer { Task { await lane.tearDown() } }
        let chatfn = try await lane.startedChatfn()
        try await lane.publish("test.flood", id: "flood-1", key: "k", data: [:])
        _ = try await lane.recorder.waitForCount(1)
        let workers = Self.nodeWorkers(below: chatfn.pid)
        #expect(!workers.isEmpty)
        chatfn.signal(SIGKILL)
        _ = try await chatfn.waitForExit()
        let killed = ContinuousClock.now
        try await eventually("every worker gone after chatfn died", timeout: .seconds(10)) { workers.allSatisfy { !Self.isRunning($0) } }
        print("workers \(workers) exited \(ContinuousClock.now - killed) after chatfn was killed")
    }

    static func nodeWorkers(below pid: Int32) -> [Int32] {
        descendants(of: pid).filter { commandLine(of: $0).contains("harness") }
    }

    /// Every process below `pid`, through `/proc/PID/task/*/children`.
    static func descendants(of pid: Int32) -> [Int32] {
        let children = FunctionIsolationTests.children(of: pid)
        return children + children.flatMap(descendants)
    }

    static func commandLine(of pid: Int32) -> String {
        (FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Alive and not a zombie waiting to be reaped.
    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let end = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(after: end)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    @Test("the broker going down and up, and injected request errors, lose nothing")
    func brokerFaults() async throws {
        let lane = try await LaneFixture.make(functions: ["test.record": Self.jitteryRecorder])
        try await publishMany(lane, count: 200)
        let chatfn = try lane.startChatfn()
        _ = try await lane.recorder.waitForCount(40)
        // Kafka protocol error codes: 7 REQUEST_TIMED_OUT, 6 NOT_LEADER_OR_FOLLOWER, 27 REBALANCE_IN_PROGRESS.
        lane.broker.injectRequestErrors(apiKey: 1, errorCodes: [6, 7, 6])   // Fetch
        lane.broker.injectRequestErrors(apiKey: 8, errorCodes: [27, 7])     // OffsetCommit
        try lane.broker.setBrokerDown()
        try await Task.sleep(for: .seconds(2))  // the outage's length: part of the scenario, not a wait for anything
        try lane.broker.setBrokerUp()
        try await eventually("all 200 events ran", timeout: .seconds(90)) { distinctIds(lane).count == 200 }
        lane.broker.injectRequestErrors(apiKey: 0, errorCodes: [7])          // Produce (the publisher's side)
        try await publishMany(lane, count: 20, startingAt: 200)
        try await eventually("events published after the faults ran", timeout: .seconds(60)) { distinctIds(lane).count == 220 }
        chatfn.signal(SIGTERM)
        #expect(try await chatfn.waitForExit() == 0)
        await lane.tearDown()
    }

    @Test("a member joining mid-stream takes partitions over: nothing lost, first runs in key order")
    func memberJoinsMidStream() async throws {
        let slowRecorder = Self.jitteryRecorder.replacingOccurrences(of: "Math.random() * 10", with: "20 + Math.random() * 10")
        let lane = try await LaneFixture.make(functions: ["test.record": slowRecorder])
        try await publishMany(lane, count: 300, keys: 20)
        let first = try lane.startChatfn(group: "handoff")
        _ = try await lane.recorder.waitForCount(30)
        let second = try await lane.startedChatfn(group: "handoff")
        try await eventually("all 300 events ran", timeout: .seconds(90)) { distinctIds(lane).count == 300 }
        expectFirstRunsInKeyOrder(lane, keys: 20)
        for member in [first, second] {
            member.signal(SIGTERM)
            let status = try await member.waitForExit()
            #expect(status == 0)
        }
        await lane.tearDown()
    }

    @Test("two chatfn processes share the group; when one is killed the other takes over its partitions")
    func survivorTakesOver() async throws {
        let lane = try await LaneFixture.make(functions: ["test.record": Self.jitteryRecorder])
        let first = try lane.startChatfn(group: "pair", ["--log-level", "info"], includingErrors: true)
        let second = try lane.startChatfn(group: "pair", ["--log-level", "info"], includingErrors: true)
        try await eventually("both members hold partitions") {
            first.stdout.contains("partitions assigned") && second.stdout.contains("partitions assigned")
        }
        try await publishMany(lane, count: 200)
        _ = try await lane.recorder.waitForCount(40)
        first.signal(SIGKILL)
        _ = try await first.waitForExit()
        try await eventually("all 200 events ran", timeout: .seconds(90)) { distinctIds(lane).count == 200 }
        #expect(second.stdout.contains(" test.record "), "the survivor ran events")
        second.signal(SIGTERM)
        #expect(try await second.waitForExit() == 0)
        await lane.tearDown()
    }
}
