import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Logging
import Synchronization

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

let testLogger: Logger = {
    var logger = Logger(label: "chatfn-tests")
    logger.logLevel = ProcessInfo.processInfo.environment["CHATFN_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
    return logger
}()

/// Polls `condition` until it holds, failing after `timeout`.
func eventually(_ what: String, timeout: Duration = .seconds(30), _ condition: @Sendable () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw TestFailure("timed out after \(timeout) waiting for \(what)")
}

/// A temporary application directory: `chatfn.json` and `functions/<trigger>.js`.
struct FunctionsFixture {
    let root: URL

    init(functions: [String: String], environment: [String: String] = [:], settings: [String: [String: any Sendable]] = [:],
         initScript: String? = nil) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("functions"), withIntermediateDirectories: true)
        var runtime: [String: Any] = ["environment": environment]
        if let initScript {
            try Data(initScript.utf8).write(to: root.appendingPathComponent("init.js"))
            runtime["initScript"] = "init.js"
        }
        let manifest: [String: Any] = ["app": "default", "runtime": runtime, "functions": settings]
        try JSONSerialization.data(withJSONObject: manifest).write(to: root.appendingPathComponent("chatfn.json"))
        for (trigger, source) in functions {
            try write(trigger: trigger, source: source)
        }
    }

    func write(trigger: String, source: String) throws {
        try Data(source.utf8).write(to: file(for: trigger))
    }

    func file(for trigger: String) -> URL {
        root.appendingPathComponent("functions/\(trigger).js")
    }

    func remove() {
        try? FileManager.default.removeItem(at: root)
    }
}

/// A binary-mode CloudEvent record with JSON `data`.
func eventRecord(topic: String = "chatfn.events", trigger: String, id: String, key: String?, data: [String: Any],
                 appId: String = "default", partition: Int32? = nil) throws -> ProducerRecord {
    var record = CloudEventKafkaBinding.binaryRecord(
        topic: topic, key: key.map { Array($0.utf8) },
        attributes: CloudEventAttributes(id: id, type: trigger, source: "chatfn-tests", appId: appId),
        data: Array(try JSONSerialization.data(withJSONObject: data)))
    record.partition = partition
    return record
}

/// Collects records from a consumer's stream in the background.
final class RecordCollector: Sendable {
    private final class Storage: Sendable {
        let leases = Mutex<[RecordLease]>([])
    }

    private let storage = Storage()

    init(_ consumer: KafkaConsumer, markProcessed: Bool = true) {
        let storage = storage
        Task {
            for await lease in consumer.records {
                storage.leases.withLock { $0.append(lease) }
                if markProcessed { lease.complete() }
            }
        }
    }

    var all: [KafkaRecord] { leases.map(\.record) }
    var leases: [RecordLease] { storage.leases.withLock { $0 } }

    func waitForCount(_ count: Int, timeout: Duration = .seconds(30)) async throws -> [KafkaRecord] {
        try await eventually("\(count) records", timeout: timeout) { self.all.count >= count }
        return all
    }
}

/// A value shared with @Sendable closures (a Mutex cannot be captured).
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    func withLock<Result: Sendable>(_ body: (inout sending Value) -> sending Result) -> Result {
        mutex.withLock(body)
    }
}

/// Waits until consumer group `group` has committed every partition of `topic` up to its end: every
/// record before the end was processed (re-runs included), so nothing more can arrive from them.
func waitUntilCommittedToEnd(group: String, topic: String, partitions: Int32, kafka: KafkaConfiguration,
                             timeout: Duration = .seconds(60)) async throws {
    let client = try ConsumerClient(configuration: kafka.merging(["group.id": group, "enable.auto.commit": "false"]), logger: testLogger)
    let all = (0..<partitions).map { TopicPartition(topic: topic, partition: $0) }
    let last = Locked("")
    do {
        try await eventually("group \(group) committed \(topic) to its end", timeout: timeout) {
            let ends = try client.endOffsets(all)
            let committed = try client.committedOffsets(all)
            last.withLock { $0 = "ends \(ends.sorted { $0.key.partition < $1.key.partition }.map(\.value)), committed \(committed.sorted { $0.key.partition < $1.key.partition }.map(\.value))" }
            return all.allSatisfy { (ends[$0] ?? 0) == 0 || (committed[$0] ?? -1) >= (ends[$0] ?? 0) }  // an empty partition has no commit
        }
    } catch {
        throw TestFailure("\(error): \(last.withLock { $0 })")
    }
}

/// The sum of a metric's samples in a Prometheus text page whose labels include `labels` (nil: none).
func metricSum(_ page: String, _ name: String, _ labels: [String: String] = [:]) -> Double? {
    var total: Double?
    for line in page.split(separator: "\n") where line.hasPrefix(name + " ") || line.hasPrefix(name + "{") {
        let wanted = labels.allSatisfy { line.contains("\($0.key)=\"\($0.value)\"") }
        guard wanted, let value = line.split(separator: " ").last.flatMap({ Double($0) }) else { continue }
        total = (total ?? 0) + value
    }
    return total
}
