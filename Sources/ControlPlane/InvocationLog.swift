import DequeModule
import Foundation
import KafkaClient
import Logging
import Synchronization

/// The recent invocations of every function, with their console output, as the workers publish them to
/// `chatfn.invocations`: followed from shortly before its end, the newest ``capacity`` kept per function.
/// Any control replica answers for the whole fleet.
package final class InvocationLog: Sendable {
    /// One invocation as the API shows it.
    package struct Entry: Codable, Sendable {
        package var invocationId: String
        package var eventId: String
        package var trigger: String
        package var versionNumber: Int?
        package var attempt: Int
        package var status: String
        package var durationMs: Double
        package var createdTime: Int64
        package var coldStart: Bool?
        package var logs: [String]
        package var error: InvocationError?
    }

    package struct InvocationError: Codable, Sendable {
        package var name: String?
        package var message: String?
        package var stack: String?
    }

    /// The record's fields this log reads.
    private struct Record: Decodable {
        var invocationId: String
        var appId: String
        var trigger: String
        var versionNumber: Int?
        var eventId: String
        var attempt: Int
        var status: String
        var durationMs: Double
        var coldStart: Bool?
        var logs: [String]
        var error: InvocationError?
        var timeMs: Int64
    }

    package static let capacity = 200
    private let entries = Mutex<[String: [String: Deque<Entry>]]>([:])
    private let tail = Mutex<PartitionTail?>(nil)

    private init() {}

    /// Follows `topic` from up to ``capacity`` records before each partition's end.
    package static func start(configuration: KafkaConfiguration, topic: String, logger: Logger) async throws -> InvocationLog {
        let log = InvocationLog()
        let decoder = JSONDecoder()
        let tail = try await PartitionTail.start(configuration: configuration, topic: topic, from: .lastRecords(Int64(capacity) * 4)) { record in
            guard let parsed = try? decoder.decode(Record.self, from: Data(record.value)) else { return }
            log.add(parsed)
        }
        log.tail.withLock { $0 = tail }
        return log
    }

    private func add(_ record: Record) {
        let entry = Entry(invocationId: record.invocationId, eventId: record.eventId, trigger: record.trigger, versionNumber: record.versionNumber,
                          attempt: record.attempt, status: record.status, durationMs: record.durationMs, createdTime: record.timeMs,
                          coldStart: record.coldStart, logs: record.logs, error: record.error)
        entries.withLock { entries in
            var recent = entries[record.appId, default: [:]][record.trigger, default: Deque()]
            recent.append(entry)
            if recent.count > Self.capacity { recent.removeFirst() }
            entries[record.appId, default: [:]][record.trigger] = recent
        }
    }

    /// Newest first, at most `limit`, of `trigger` (or every function of the application), made at or
    /// after `since` (epoch ms).
    package func recent(application: String, trigger: String?, status: String? = nil, limit: Int, since: Int64 = 0) -> [Entry] {
        let all = entries.withLock { entries -> [Entry] in
            guard let functions = entries[application] else { return [] }
            if let trigger { return Array(functions[trigger] ?? []) }
            return functions.values.flatMap { $0 }
        }
        return Array(all.filter { (status == nil || $0.status == status) && $0.createdTime >= since }
            .sorted { ($0.createdTime, $0.invocationId) > ($1.createdTime, $1.invocationId) }.prefix(max(limit, 0)))
    }

    /// Forgets an application's invocations (it was deleted).
    package func forget(application: String) {
        _ = entries.withLock { $0.removeValue(forKey: application) }
    }

    package func shutdown() async {
        await tail.withLock { $0 }?.shutdown()
    }
}
