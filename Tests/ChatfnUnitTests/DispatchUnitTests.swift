import ChatEvents
import ChatfnCore
@testable import Dispatcher
@testable import Functions
import Foundation
import KafkaClient
import Synchronization
import Testing

@Suite("Key-ordered queues")
struct KeyOrderedQueuesTests {
    struct Item: Sendable, Equatable {
        var key: String?
        var n: Int
    }

    let queues = KeyOrderedQueues<Item> { item in item.key.map { OrderingKey(topic: "t", key: Array($0.utf8)) } }

    @Test("the first item of a key starts a run; later ones queue behind it and run in order")
    func sameKeyInOrder() async {
        #expect(queues.enqueue(Item(key: "a", n: 1)) == Item(key: "a", n: 1))
        #expect(queues.enqueue(Item(key: "a", n: 2)) == nil)
        #expect(queues.enqueue(Item(key: "a", n: 3)) == nil)
        let ran = Mutex<[Int]>([])
        await queues.run(startingWith: Item(key: "a", n: 1)) { item in ran.withLock { $0.append(item.n) } }
        #expect(ran.withLock { $0 } == [1, 2, 3])
        #expect(queues.enqueue(Item(key: "a", n: 4)) != nil, "the run ended: the next item starts one")
    }

    @Test("different keys, and items without a key, each start a run at once")
    func otherKeysInParallel() {
        #expect(queues.enqueue(Item(key: "a", n: 1)) != nil)
        #expect(queues.enqueue(Item(key: "b", n: 1)) != nil)
        #expect(queues.enqueue(Item(key: nil, n: 1)) != nil)
        #expect(queues.enqueue(Item(key: nil, n: 2)) != nil)
    }

    @Test("an item queued while its key's run goes is run by that run")
    func queuedDuringRun() async {
        _ = queues.enqueue(Item(key: "k", n: 1))
        let ran = Mutex<[Int]>([])
        await queues.run(startingWith: Item(key: "k", n: 1)) { item in
            ran.withLock { $0.append(item.n) }
            if item.n == 1 { #expect(queues.enqueue(Item(key: "k", n: 2)) == nil) }
        }
        #expect(ran.withLock { $0 } == [1, 2])
    }
}

@Suite("Idle runners", .timeLimit(.minutes(1)))
struct IdleRunnersTests {
    @Test("an item goes to an idle runner; with none idle a runner starts; close ends the runners")
    func reusesIdleRunners() async throws {
        let received = RunCounts()
        let runners = IdleRunners<Int> { item in received.counts.withLock { $0[item, default: 0] += 1 } }
        await withDiscardingTaskGroup { group in
            runners.run(1, in: &group, startingOn: nil)
            #expect(runners.startedCount == 1, "none was idle")
            await eventually { runners.idleCount == 1 }  // it ran 1 and waits
            runners.run(2, in: &group, startingOn: nil)
            await eventually { runners.idleCount == 1 }
            runners.run(3, in: &group, startingOn: nil)
            #expect(runners.startedCount == 1, "the idle runner ran 2 and 3")
            runners.close()
        }  // the group ends: close ended the runner
        #expect(received.counts.withLock { $0 } == [1: 1, 2: 1, 3: 1])
        await withDiscardingTaskGroup { group in
            runners.run(4, in: &group, startingOn: nil)  // closed: a new runner runs it and ends
        }
        #expect(received.counts.withLock { $0[4] } == 1)
    }

    @Test("items run exactly once each, however runners are reused, and close ends every runner")
    func everyItemRunsOnce() async {
        let ran = RunCounts()
        let runners = IdleRunners<Int> { item in
            ran.counts.withLock { $0[item, default: 0] += 1 }
            if item % 7 == 0 { await Task.yield() }
        }
        await withDiscardingTaskGroup { group in
            for item in 0..<2_000 {
                if item % 50 == 0 { await Task.yield() }  // lets runners go idle, so that some are reused
                runners.run(item, in: &group, startingOn: nil)
            }
            runners.close()
        }
        #expect(ran.counts.withLock { $0.count == 2_000 && $0.values.allSatisfy { $0 == 1 } })
    }

    /// Waits for `condition` without a fixed sleep.
    private func eventually(_ condition: () -> Bool) async {
        while !condition() { await Task.yield() }
    }

    final class RunCounts: Sendable {
        let counts = Mutex<[Int: Int]>([:])
    }
}

@Suite("Retry policy")
struct RetryPolicyTests {
    let policy = RetryPolicy(maxAttempts: 5, maxEventAge: .seconds(3600), initialBackoff: .seconds(1), maxBackoff: .seconds(8))

    @Test("backoff doubles per attempt with equal jitter, capped at the maximum")
    func exponentialWithJitter() {
        for (attempt, base) in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0)] {
            for _ in 0..<50 {
                let seconds = policy.backoff(afterAttempt: attempt).fractionalSeconds
                #expect(seconds >= base / 2 && seconds <= base, "attempt \(attempt): \(seconds) s")
            }
        }
    }

    @Test("an attempt count from outside cannot overflow the shift")
    func hugeAttempt() {
        #expect(policy.backoff(afterAttempt: .max) <= .seconds(8))
        #expect(policy.backoff(afterAttempt: .min) <= .seconds(1))
    }
}

@Suite("Blocking protocol types")
struct BlockingProtocolTests {
    func request(_ headers: [KafkaHeader]) -> KafkaRecord {
        KafkaRecord(position: RecordPosition(topic: "chatfn.requests", partition: 0, offset: 0), key: nil, value: [],
                    headers: headers, timestampMs: nil)
    }

    @Test("request headers round-trip, a missing or malformed header is named")
    func requestHeaders() throws {
        let original = BlockingRequest(correlationId: "c-1", replyTo: "chatfn.replies", replyPartition: 3, deadlineMs: 1_700_000_000_000)
        #expect(try BlockingRequest.read(request(original.headers)).get() == original)
        let noDeadline = original.headers.filter { $0.key != BlockingHeaders.deadline }
        #expect(throws: CloudEventDecodingError.self) { try BlockingRequest.read(self.request(noDeadline)).get() }
        var negative = original.headers.filter { $0.key != BlockingHeaders.replyPartition }
        negative.append(KafkaHeader(key: BlockingHeaders.replyPartition, value: [0xff, 0xff, 0xff, 0xff]))
        #expect(throws: CloudEventDecodingError.self) { try BlockingRequest.read(self.request(negative)).get() }
    }

    @Test("a decision encodes and decodes as Codable JSON, profiles and all, slashes unescaped")
    func decisionRoundTrip() throws {
        let decision = Decision(decision: .allow, status: "succeeded",
                                user: .object(["displayName": .string("Ada"), "id": .integer(9_007_199_254_740_993), "url": .string("https://x/y")]),
                                durationMs: 2.5, functionVersion: "abc")
        let bytes = decision.encoded()
        #expect(String(decoding: bytes, as: UTF8.self).contains("https://x/y"))
        #expect(try Decision.decode(bytes) == decision)
        #expect(throws: DecisionError.self) { try Decision.decode(Array(#"{"status":"x"}"#.utf8)) }
    }

    @Test("onFailure and onMissing: sign-in fails closed, moderation fails open, settings override")
    func fallbacks() {
        #expect(FunctionSettings().onFailure(for: BlockingTriggers.startSession) == .deny)
        #expect(FunctionSettings().onFailure(for: BlockingTriggers.sendMessage) == .allow)
        var settings = FunctionSettings()
        settings.onFailure = .allow
        settings.onMissing = .deny
        #expect(settings.onFailure(for: BlockingTriggers.startSession) == .allow && settings.onMissingDecision == .deny)
        #expect(BlockingTriggers.isBlocking("user.attempted.anything") && !BlockingTriggers.isBlocking("user.received.notification"))
    }
}

@Suite("Dead letters")
struct DeadLetterTests {
    @Test("a dead letter keeps the record, adds the annotations, and replays to its source without them")
    func annotationsAndReplay() throws {
        let original = KafkaRecord(
            position: RecordPosition(topic: "chatfn.events", partition: 2, offset: 41), key: Array("k".utf8), value: Array("{}".utf8),
            headers: [KafkaHeader(key: "ce_id", string: "e-1"), KafkaHeader(key: "chatfn_dlq_reason", string: "forged")], timestampMs: nil)
        let letter = DeadLetter.record(for: original, topic: "chatfn.dlq", reason: .wrongLane(trigger: "user.attempted.x", topic: "chatfn.events"),
                                       functionVersion: "v1")
        #expect(letter.headers.filter { $0.key == "chatfn_dlq_reason" }.map(\.stringValue) == ["wrong_lane"], "a forged annotation is dropped")
        let consumed = KafkaRecord(position: RecordPosition(topic: "chatfn.dlq", partition: 0, offset: 0), key: letter.key, value: letter.value,
                                   headers: letter.headers, timestampMs: nil)
        let entry = DeadLetterEntry(consumed)
        #expect(entry.reason == "wrong_lane" && entry.source == original.position && entry.eventId == "e-1")
        let replay = try #require(DeadLetter.replay(consumed))
        #expect(replay.topic == "chatfn.events" && replay.value == original.value && !replay.headers.contains { $0.key.hasPrefix("chatfn_dlq_") })
    }

    @Test("reason codes are stable: they are header values others filter on")
    func reasonCodes() {
        let reasons: [DeadLetterReason] = [
            .malformed("x"), .unknownApplication("a"), .wrongLane(trigger: "t", topic: "p"), .tooLarge(bytes: 2, limit: 1),
            .invalidEvent("x"), .exhausted(status: .failed, attempts: 3, message: "m"), .expired(status: .timeout, attempts: 1, message: "m"),
        ]
        #expect(reasons.map(\.code) == ["malformed", "unknown_application", "wrong_lane", "too_large", "invalid_event", "attempts_exhausted", "max_event_age"])
    }
}

@Suite("Configuration bounds")
struct ConfigurationBoundsTests {
    func manifest(_ json: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data(json.utf8).write(to: directory.appendingPathComponent("chatfn.json"))
        return directory
    }

    @Test("values out of range are refused with the key and its bounds", arguments: [
        (#"{"functions":{"test.x":{"timeoutMs":-5}}}"#, "functions.test.x.timeoutMs: must be between 1 and 900000 (got -5)"),
        (#"{"functions":{"test.x":{"timeoutMs":1e16}}}"#, "functions.test.x.timeoutMs: must be between 1 and 900000 (got 10000000000000000)"),
        (#"{"functions":{"test.x":{"maxAttempts":0}}}"#, "functions.test.x.maxAttempts: must be between 1 and 100 (got 0)"),
        (#"{"functions":{"test.x":{"memoryMb":16}}}"#, "functions.test.x.memoryMb: must be between 64 and 16384 (got 16)"),
        (#"{"runtime":{"minWarm":100000}}"#, "runtime.minWarm: must be between 0 and 64 (got 100000)"),
    ])
    func outOfRange(json: String, expected: String) throws {
        let directory = try manifest(json)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect { _ = try ApplicationManifest.load(fromDirectory: directory.path) } throws: { "\($0)".hasSuffix(expected) }
    }

    @Test("values in range load")
    func inRange() throws {
        let directory = try manifest(#"{"functions":{"test.x":{"timeoutMs":900000,"memoryMb":64,"maxAttempts":100}},"runtime":{"minWarm":0}}"#)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try ApplicationManifest.load(fromDirectory: directory.path).settings(for: "test.x").timeoutMs == 900_000)
    }

    @Test("a link out of the application is found; one inside is not")
    func linkEscapes() throws {
        let directory = try manifest("{}")
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createSymbolicLink(atPath: directory.appendingPathComponent("inside").path, withDestinationPath: "chatfn.json")
        #expect(LinkEscapes.find(in: directory.path).isEmpty)
        try FileManager.default.createSymbolicLink(atPath: directory.appendingPathComponent("etc").path, withDestinationPath: "/etc")
        #expect(LinkEscapes.find(in: directory.path) == ["etc -> /etc"])
    }
}

@Suite("Application snapshots")
struct ApplicationSnapshotTests {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-snapshot-\(UUID().uuidString)")

    func write(_ relative: String, _ text: String) throws {
        let url = scratch.appendingPathComponent("app/\(relative)")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    @Test("a ConfigMap-style tree of links is copied as files; the same content is one snapshot; a change is a new one")
    func configMapLayout() throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        try write("..2026_11_26/x.js", "module.exports = 1;")
        let app = scratch.appendingPathComponent("app")
        try FileManager.default.createSymbolicLink(atPath: app.appendingPathComponent("..data").path, withDestinationPath: "..2026_11_26")
        try FileManager.default.createDirectory(at: app.appendingPathComponent("functions"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: app.appendingPathComponent("functions/x.js").path, withDestinationPath: "../..data/x.js")
        try write(".git/HEAD", "ref")
        #expect(mkfifo(app.appendingPathComponent("functions/pipe.js").path, 0o600) == 0)
        let snapshots = ApplicationSnapshot(base: scratch.appendingPathComponent("snapshots"))
        let first = try snapshots.take(of: app.path)
        let copied = URL(fileURLWithPath: first).appendingPathComponent("functions/x.js")
        #expect(try String(contentsOf: copied, encoding: .utf8) == "module.exports = 1;")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: copied.path)) == nil, "a file, not a link")
        #expect(!FileManager.default.fileExists(atPath: first + "/.git") && !FileManager.default.fileExists(atPath: first + "/functions/pipe.js"))
        #expect(try snapshots.take(of: app.path) == first)
        try write("..2026_11_26/x.js", "module.exports = 2;")  // same size, new content
        #expect(try snapshots.take(of: app.path) != first)
    }

    @Test("a link out of the application, or a cycle, refuses the snapshot")
    func refused() throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        try write("functions/x.js", "1")
        let app = scratch.appendingPathComponent("app")
        let snapshots = ApplicationSnapshot(base: scratch.appendingPathComponent("snapshots"))
        try FileManager.default.createSymbolicLink(atPath: app.appendingPathComponent("functions/etc").path, withDestinationPath: "/etc")
        #expect(throws: CatalogError.self) { try snapshots.take(of: app.path) }
        try FileManager.default.removeItem(atPath: app.appendingPathComponent("functions/etc").path)
        try FileManager.default.createSymbolicLink(atPath: app.appendingPathComponent("functions/loop").path, withDestinationPath: "..")
        #expect(throws: CatalogError.self) { try snapshots.take(of: app.path) }
    }
}

@Suite("Function concurrency limits")
struct ConcurrencyLimitsTests {
    @Test("20,000 invocations under a limit of 2: never more than 2 at once, and every one gets its turn", .timeLimit(.minutes(1)))
    func noLostWakeUps() async {
        final class Gauge: Sendable {
            let running = Atomic<Int>(0)
            let most = Atomic<Int>(0)
        }
        let limits = ConcurrencyLimits()
        let gauge = Gauge()
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<20_000 {
                group.addTask {
                    guard let permit = await limits.acquire("app/f", limit: 2, unlessAnyOf: []) else { return false }
                    let now = gauge.running.add(1, ordering: .relaxed).newValue
                    _ = gauge.most.max(now, ordering: .relaxed)
                    await Task.yield()
                    gauge.running.subtract(1, ordering: .relaxed)
                    limits.release(permit)
                    return true
                }
            }
            var granted = 0
            for await ok in group where ok { granted += 1 }
            #expect(granted == 20_000)
        }
        #expect(gauge.most.load(ordering: .relaxed) <= 2)
    }

    @Test("a stop ends a wait without a permit")
    func stopEndsTheWait() async {
        let limits = ConcurrencyLimits()
        let held = await limits.acquire("app/f", limit: 1, unlessAnyOf: [])
        let stop = StopSignal()
        async let waiting = limits.acquire("app/f", limit: 1, unlessAnyOf: [stop])
        stop.stop()
        #expect(await waiting == nil)
        if let held { limits.release(held) }
        #expect(await limits.acquire("app/f", limit: 1, unlessAnyOf: []) != nil, "the stopped waiter left the queue")
    }
}
