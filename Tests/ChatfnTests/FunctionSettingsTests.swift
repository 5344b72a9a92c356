import Foundation
import Testing

/// `memoryMb` and `concurrency` are each function's own, not its application's.
@Suite("Per-function settings")
struct FunctionSettingsTests {
    static func reporting(_ name: String, holdMs: Int) -> String {
        """
        const v8 = require('v8');
        async function handleEvent(event, context) {
          const started = Date.now();
          await new Promise((resolve) => setTimeout(resolve, \(holdMs)));
          await fetch(process.env.RECORDER_URL, { method: 'POST', body: JSON.stringify({ fn: '\(name)', eventId: context.eventId,
            started, ended: Date.now(), processId: (process.testProcessId ??= Math.random()), heapLimitMb: Math.round(v8.getHeapStatistics().heap_size_limit / 1048576) }) });
        }
        """
    }

    @Test("functions of one application with different memoryMb run in different processes with their own limits; concurrency caps one function's runs at once")
    func memoryAndConcurrency() async throws {
        let lane = try await LaneFixture.make(
            functions: ["test.small": Self.reporting("small", holdMs: 0), "test.large": Self.reporting("large", holdMs: 0),
                        "test.limited": Self.reporting("limited", holdMs: 300)],
            settings: ["test.small": ["memoryMb": 256], "test.large": ["memoryMb": 768], "test.limited": ["concurrency": 2]])
        let chatfn = try lane.startChatfn()
        defer { chatfn.signal(SIGTERM) }
        try await lane.publish("test.small", id: "small-1", key: "a", data: [:])
        try await lane.publish("test.large", id: "large-1", key: "b", data: [:])
        for index in 0..<8 { try await lane.publish("test.limited", id: "limited-\(index)", key: "key-\(index)", data: [:]) }
        let runs = try await lane.recorder.waitForCount(10)
        let small = try #require(runs.first { $0["fn"] as? String == "small" })
        let large = try #require(runs.first { $0["fn"] as? String == "large" })
        let smallLimit = try #require(small["heapLimitMb"] as? Int), largeLimit = try #require(large["heapLimitMb"] as? Int)
        #expect(smallLimit < 256 && largeLimit > 256 && largeLimit < 768, "heap limits \(smallLimit) and \(largeLimit) MB")
        #expect(small["processId"] as? Double != large["processId"] as? Double)

        // At no moment did more than two runs of test.limited overlap, though eight keys could run at once.
        let limited = runs.filter { $0["fn"] as? String == "limited" }.compactMap { run -> (Int, Int)? in
            guard let started = run["started"] as? Int, let ended = run["ended"] as? Int else { return nil }
            return (started, ended)
        }
        #expect(limited.count == 8)
        let overlap = limited.map { run in limited.filter { $0.0 <= run.0 && run.0 < $0.1 }.count }.max() ?? 0
        #expect(overlap == 2, "at most 2 at once, and the limit was reached (saw \(overlap))")
    }
}
