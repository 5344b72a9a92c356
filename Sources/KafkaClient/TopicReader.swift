import ChatfnCore
import CKafka
import Foundation

/// Reads what a topic holds now, from its first record to each partition's high watermark, outside any
/// consumer group (nothing is committed): for tools such as `chatfn dlq list`.
package enum TopicReader {
    package static func readAll(topic: String, configuration: KafkaConfiguration, timeout: Duration = .seconds(30)) async throws -> [KafkaRecord] {
        let conf = try configuration.standaloneConsumer(purpose: "reader", fetchWaitMs: 50).makeNativeConfiguration()
        let handle = try KafkaHandle(type: RD_KAFKA_CONSUMER, configuration: conf)
        let deadline = Date().addingTimeInterval(timeout.fractionalSeconds)
        return try await DedicatedThread.run(name: "chatfn-topic-reader") {
            defer { _ = rd_kafka_consumer_close(handle.pointer) }
            return try read(topic: topic, handle: handle.pointer, deadline: deadline)
        }
    }

    private static func read(topic: String, handle: OpaquePointer, deadline: Date) throws -> [KafkaRecord] {
        let partitions = try partitionCount(of: topic, handle: handle)
        var ends: [Int32: Int64] = [:]
        for partition in 0..<partitions {
            let (low, high) = try ClusterMetadata.watermarks(handle, of: TopicPartition(topic: topic, partition: partition))
            if high > low { ends[partition] = high }
        }
        guard !ends.isEmpty else { return [] }
        let assignment = TopicPartition.makeNativeList(ends.keys.map { (TopicPartition(topic: topic, partition: $0), Int64(RD_KAFKA_OFFSET_BEGINNING)) })
        defer { rd_kafka_topic_partition_list_destroy(assignment) }
        let assigned = rd_kafka_assign(handle, assignment)
        guard assigned == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("could not read \(topic)", rdError: assigned) }

        var records: [KafkaRecord] = []
        var remaining = ends
        while !remaining.isEmpty {
            guard Date() < deadline else {
                throw KafkaError("timed out reading \(topic): \(records.count) records read, partitions \(remaining.keys.sorted()) unfinished")
            }
            guard let message = rd_kafka_consumer_poll(handle, 100) else { continue }
            defer { rd_kafka_message_destroy(message) }
            guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            let record = KafkaRecord(message: message)
            records.append(record)
            if let end = remaining[record.partition], record.offset >= end - 1 { remaining[record.partition] = nil }
        }
        return records.sorted { ($0.timestampMs ?? 0, $0.partition, $0.offset) < ($1.timestampMs ?? 0, $1.partition, $1.offset) }
    }

    private static func partitionCount(of topic: String, handle: OpaquePointer) throws -> Int32 {
        guard let count = try ClusterMetadata.topics(handle, timeoutMs: 10_000)[topic] else {
            throw KafkaError("topic \(topic) does not exist")
        }
        return count
    }
}
