import ChatEvents
import ChatFunctionsClient
import Foundation
import KafkaClient
import Testing

/// `/metrics` as Prometheus reads it: swift-metrics through swift-prometheus, parsed by prometheus_client's
/// own parser (`scripts/check-metrics.py`) for names, label names, types and histogram buckets.
@Suite("Operations: metrics and logs")
struct MetricsTests {
    @Test("a worker's /metrics has every family of the contract, with its labels and buckets, counting what happened")
    func metricsFollowTheContract() async throws {
        let fleet = try await ControlFleet.make()
        defer { Task { await fleet.tearDown() } }
        let (control, api) = try await fleet.startControl()
        let (worker, admin) = try await fleet.startWorkerWithAdmin()
        defer { [control, worker].forEach { $0.signal(SIGTERM) } }
        let app = "\(api)/v1/applications/metered"
        #expect(try await callAPI("PUT", app).status == 201)
        // Every worker process is replaced after one invocation: restarts to count.
        #expect(try await callAPI("PUT", "\(app)/runtime/options", json: ["recycleAfter": 1]).status == 200)
        // Settings first: a worker that already serves the application takes a later change a moment after
        // the registry has it, and an event in between would run with the default three attempts.
        #expect(try await callAPI("PUT", "\(app)/functions/test.flaky/settings", json: ["maxAttempts": 2, "retryBackoffMs": 10]).status == 200)
        // The blocking function last: its version starts the application on the worker at once, and a version
        // after that reaches the served application a moment after the registry has it.
        let functions = [
            ("test.ok", "async function handleEvent() { return 1; }"),
            ("test.flaky", "async function handleEvent() { throw new Error('down'); }"),
            (BlockingTriggers.startSession, "async function handleEvent(event) { return { user: { displayName: event.username } }; }"),
        ]
        for (trigger, script) in functions {
            #expect(try await callAPI("POST", "\(app)/functions/\(trigger)/versions", json: ["handlerScript": script]).status == 201)
        }
        // The worker has read what the control plane wrote (an event before that finds no function, and is skipped).
        let written = metricSum(try await httpGet("\(api)/metrics").1, "chatfn_registry_version") ?? 0
        try await eventually("the worker caught up with the registry") {
            metricSum(try await httpGet("\(admin)/metrics").1, "chatfn_registry_version") ?? 0 >= written
        }

        for n in 0..<3 { try await fleet.publish("test.ok", app: "metered", id: "ok-\(n)", key: "k\(n)") }
        try await fleet.publish("test.flaky", app: "metered", id: "flaky", key: "f")
        var configuration = ChatFunctionsClient.Configuration(kafka: KafkaConfiguration(bootstrapServers: fleet.broker.bootstrapServers))
        configuration.appId = "metered"
        let client = try await ChatFunctionsClient.connect(configuration)
        let decision = await client.call(trigger: BlockingTriggers.startSession, data: Array(#"{"username":"ada"}"#.utf8), timeout: LaneFixture.firstCallTimeout, fallback: .deny)
        #expect(decision.decision == .allow, "\(decision)")
        await client.shutdown()

        let page: @Sendable () async throws -> String = { try await httpGet("\(admin)/metrics").1 }
        let lastPage = Locked("")
        do {
            try await eventually("every event counted, and the consumers' lag reported", timeout: .seconds(60)) {
                let text = try await page()
                lastPage.withLock { $0 = text }
                return metricSum(text, "chatfn_invocations_total", ["app": "metered", "trigger": "test.ok", "status": "succeeded"]) == 3
                    && metricSum(text, "chatfn_dead_letters_total", ["app": "metered", "trigger": "test.flaky", "reason": "attempts_exhausted"]) == 1
                    && metricSum(text, "chatfn_consumer_lag", ["topic": "chatfn.events"]) != nil
                    && metricSum(text, "chatfn_worker_restarts_total", ["app": "metered", "reason": "recycled"]) ?? 0 >= 1
            }
        } catch {
            Issue.record("\(error)\n\(lastPage.withLock { $0 }.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.contains("_bucket") }.joined(separator: "\n"))\nworker:\n\(worker.stdout)")
            return
        }
        let text = try await page()
        #expect(metricSum(text, "chatfn_invocations_total", ["trigger": "test.flaky", "status": "failed"]) == 2)
        #expect(metricSum(text, "chatfn_retries_total") == 1)
        #expect(metricSum(text, "chatfn_blocking_request_duration_seconds_count", ["app": "metered", "decision": "allow"]) == 1)
        #expect(metricSum(text, "chatfn_registry_version") ?? 0 > 0)

        let (status, output) = try await ChatfnProcess.run(
            [ChatfnProcess.packageRoot.appendingPathComponent("scripts/check-metrics.py").path, "\(admin)/metrics"],
            executable: try ChatfnProcess.bootstrapPython())
        #expect(status == 0 && output.contains("0 problem(s)"), "\(output)\n\(text)")
    }

    @Test("--log-format json: every line chatfn writes, its own and librdkafka's, is one JSON object")
    func jsonLogs() async throws {
        let lane = try await LaneFixture.make(functions: ["test.logged": "async function handleEvent(event, context) { console.log('hello from the function'); }"])
        defer { Task { await lane.tearDown() } }
        let chatfn = try lane.startChatfn(["--log-format", "json", "--log-level", "debug", "-X", "debug=cgrp"], includingErrors: true)
        try await eventually("chatfn running", timeout: .seconds(60)) { chatfn.stdout.contains("chatfn: API on http://") }
        try await lane.publish("test.logged", id: "json-1", key: "k", data: [:])
        try await eventually("the invocation logged") { chatfn.stdout.contains("hello from the function") }
        chatfn.signal(SIGTERM)
        #expect(try await chatfn.waitForExit() == 0)
        let lines = chatfn.stdout.split(separator: "\n").filter { !$0.isEmpty }
        #expect(lines.count > 10)
        for line in lines {
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["time"] is String && object?["level"] is String && object?["message"] is String, "not a JSON log line: \(line)")
        }
        #expect(lines.contains { $0.contains(#""facility":"#) },
                "librdkafka's lines come through as JSON too")
    }

    @Test("chatfn run stays quiet under load: no line per successful invocation, one warning per failure (every invocation at debug level)")
    func runIsQuiet() async throws {
        let lane = try await LaneFixture.make(
            functions: ["test.fine": "module.exports = async () => 'ok';", "test.broken": "module.exports = async () => { throw new Error('it broke'); };"],
            settings: ["test.broken": ["maxAttempts": 1]])
        defer { Task { await lane.tearDown() } }
        for n in 0..<20 { try await lane.publish("test.fine", id: "fine-\(n)", key: "k\(n)", data: [:]) }
        try await lane.publish("test.broken", id: "broken-1", key: "b", data: [:])
        let worker = try ChatfnProcess(["run", "--kafka", lane.broker.bootstrapServers, "--functions", lane.application.root.path, "--group", "quiet"],
                                       includingErrors: true)
        defer { worker.signal(SIGTERM) }
        try await eventually("the failure and its dead letter logged", timeout: .seconds(60)) {
            worker.stdout.contains("test.broken broken-1 failed (attempt 1)") && worker.stdout.contains("dead-lettered broken-1")
        }
        #expect(!worker.stdout.contains("fine-"), "no line per successful invocation: \(worker.stdout)")
        #expect(worker.stdout.contains("it broke"), "the failure says why: \(worker.stdout)")
    }
}
