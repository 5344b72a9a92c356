import ChatfnCore
import Foundation
import Testing

/// SIGTERM ends chatfn within `--shutdown-timeout` plus 5 s, whatever is still running or waiting on the
/// broker; what did not complete is not committed, so it runs again after a restart.
@Suite("Shutdown within its bound", .serialized)
struct ShutdownBoundTests {
    static let shutdownTimeout = 2
    /// What the contract allows: the timeout plus 5 s.
    static let bound = Duration.seconds(shutdownTimeout + 5)
    /// The bound is checked with the events lane in chatfn's own scheduling class. Niced (the
    /// default), the lane's steps after the drain stretch on a machine the whole suite keeps busy,
    /// which a pod of its own does not see; there the watchdog keeps the bound.
    static var chatfnArguments: [String] { ["--shutdown-timeout", "\(shutdownTimeout)", "--events-lane-class", "normal"] }

    /// Posts what it runs to the recorder, then never finishes.
    static let hanging = """
        async function handleEvent(event, context) {
          await fetch(process.env.RECORDER_URL, { method: 'POST', body: JSON.stringify({ id: context.eventId, attempt: context.attempt }) });
          await new Promise(() => {});
        }
        """

    static let recording = """
        async function handleEvent(event, context) {
          await fetch(process.env.RECORDER_URL, { method: 'POST', body: JSON.stringify({ id: context.eventId, attempt: context.attempt, done: true }) });
        }
        """

    @Test("functions that never finish: chatfn exits within the bound, commits none of them, and they run again after a restart")
    func hangingFunctions() async throws {
        let lane = try await LaneFixture.make(functions: ["test.hang": Self.hanging], settings: ["test.hang": ["timeoutMs": 600_000]])
        defer { Task { await lane.tearDown() } }
        let chatfn = try await lane.startedChatfn(Self.chatfnArguments)
        for n in 0..<3 { try await lane.publish("test.hang", id: "hang-\(n)", key: "key-\(n)", data: [:]) }
        _ = try await lane.recorder.waitForCount(3)

        let signalled = ContinuousClock.now
        chatfn.signal(SIGTERM)
        let status = try await chatfn.waitForExit(timeout: Self.bound)
        #expect(status == 0, "a clean exit, not the watchdog's")
        print("exited \(ContinuousClock.now - signalled) after SIGTERM with 3 functions hanging (--shutdown-timeout \(Self.shutdownTimeout))")
        #expect(chatfn.stdout.contains("was stopped by chatfn's shutdown") && !chatfn.stdout.contains("memory limit"),
                "what the shutdown cut short is not blamed on the function: \(chatfn.stdout)")

        try lane.application.write(trigger: "test.hang", source: Self.recording)
        let restarted = try await lane.startedChatfn()
        defer { restarted.signal(SIGTERM) }
        try await eventually("the 3 events ran again, to the end", timeout: .seconds(60)) {
            Set(lane.recorder.received().filter { $0["done"] as? Bool == true }.compactMap { $0["id"] as? String }) == ["hang-0", "hang-1", "hang-2"]
        }
    }

    @Test("the broker gone while a dead letter waits to be published: chatfn exits within the bound, and the event runs again once the broker is back")
    func brokerGoneWhilePublishing() async throws {
        let failing = """
            async function handleEvent(event, context) {
              await fetch(process.env.RECORDER_URL, { method: 'POST', body: JSON.stringify({ id: context.eventId, attempt: context.attempt }) });
              await new Promise((resolve) => setTimeout(resolve, 1000));
              throw new Error('always fails');
            }
            """
        let lane = try await LaneFixture.make(functions: ["test.fail": failing], settings: ["test.fail": ["maxAttempts": 1]])
        defer { Task { await lane.tearDown() } }
        let chatfn = try await lane.startedChatfn(Self.chatfnArguments + ["--log-level", "info"])
        try await lane.publish("test.fail", id: "doomed", key: "k", data: [:])
        _ = try await lane.recorder.waitForCount(1)
        // The function fails a second later, with the broker gone: its dead letter cannot be published.
        try lane.broker.setBrokerDown()
        try await eventually("the function failed", timeout: .seconds(30)) { chatfn.stdout.contains("failed") }

        let signalled = ContinuousClock.now
        chatfn.signal(SIGTERM)
        let status = try await chatfn.waitForExit(timeout: Self.bound)
        #expect(status == 0, "a clean exit, not the watchdog's")
        print("exited \(ContinuousClock.now - signalled) after SIGTERM with the broker down and a dead letter pending")

        try lane.broker.setBrokerUp()
        try lane.application.write(trigger: "test.fail", source: Self.recording)
        let restarted = try await lane.startedChatfn()
        defer { restarted.signal(SIGTERM) }
        try await eventually("the event ran again, to the end", timeout: .seconds(60)) {
            lane.recorder.received().contains { $0["id"] as? String == "doomed" && $0["done"] as? Bool == true }
        }
    }

    @Test("a blocking request and events both hanging: both lanes stop starting work at SIGTERM and drain together, within the bound")
    func bothLanesDrainTogether() async throws {
        let lane = try await LaneFixture.make(
            functions: ["test.hang": Self.hanging, "user.attempted.start_session": Self.hanging],
            settings: ["test.hang": ["timeoutMs": 600_000], "user.attempted.start_session": ["timeoutMs": 600_000]])
        defer { Task { await lane.tearDown() } }
        let chatfn = try await lane.startedChatfn(Self.chatfnArguments)
        try await lane.publish("test.hang", id: "hang-event", key: "k", data: [:])
        try await lane.producer.send(HostileInputTests.request("user.attempted.start_session", id: "hang-request",
                                                               deadlineMs: EpochMilliseconds.now() + 60_000))
        _ = try await lane.recorder.waitForCount(2)

        let signalled = ContinuousClock.now
        chatfn.signal(SIGTERM)
        try await lane.publish("test.hang", id: "after-sigterm", key: "other", data: [:])
        let status = try await chatfn.waitForExit(timeout: Self.bound)
        #expect(status == 0, "a clean exit, not the watchdog's")
        print("exited \(ContinuousClock.now - signalled) after SIGTERM with a blocking request and an event hanging")
        #expect(!lane.recorder.received().contains { $0["id"] as? String == "after-sigterm" }, "no event starts after SIGTERM")
    }
}
