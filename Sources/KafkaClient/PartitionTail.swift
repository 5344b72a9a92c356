import ChatfnCore
import CKafka
import Foundation

/// Follows partitions outside any consumer group, handing each new record to `handler` on a dedicated
/// poll thread: how a client reads the replies addressed to it, and how chatfn follows its registry.
package final class PartitionTail: Sendable {
    /// Where following starts, per partition.
    package enum Start: Sendable, Hashable {
        /// The end as of the start: only records published afterwards.
        case end
        /// The first record the partition still holds.
        case beginning
        /// Up to this many records before the end.
        case lastRecords(Int64)
    }

    private let handle: KafkaHandle
    private let pollLoop: PollLoop
    /// Each followed partition's high watermark when following began: a reader that has handled the
    /// record before it has read what the partition held then.
    package let startingEnds: [TopicPartition: Int64]

    private init(handle: KafkaHandle, pollLoop: PollLoop, startingEnds: [TopicPartition: Int64]) {
        self.handle = handle
        self.pollLoop = pollLoop
        self.startingEnds = startingEnds
    }

    /// Starts following `topic`/`partition` from its end as of now; returns once positioned there, so no
    /// record published after this returns is missed.
    package static func start(
        configuration: KafkaConfiguration, topic: String, partition: Int32,
        handler: @escaping @Sendable (KafkaRecord) -> Void
    ) async throws -> PartitionTail {
        try await start(configuration: configuration, partitions: [TopicPartition(topic: topic, partition: partition)], from: .end, handler: handler)
    }

    /// Starts following every partition of `topic` (those it has now) from `start`.
    package static func start(
        configuration: KafkaConfiguration, topic: String, from start: Start,
        handler: @escaping @Sendable (KafkaRecord) -> Void
    ) async throws -> PartitionTail {
        let probe = try KafkaHandle(type: RD_KAFKA_PRODUCER, configuration: try configuration.withoutConsumerProperties.makeNativeConfiguration())
        let count = try await DedicatedThread.run(name: "chatfn-tail-metadata") {
            guard let count = try ClusterMetadata.topics(probe.pointer, timeoutMs: 10_000)[topic] else {
                throw KafkaError("topic \(topic) does not exist")
            }
            return count
        }
        return try await self.start(configuration: configuration, partitions: (0..<count).map { TopicPartition(topic: topic, partition: $0) },
                                    from: start, handler: handler)
    }

    /// Starts following `partitions` from `start`; returns once positioned, so no record published
    /// after this returns is missed.
    package static func start(
        configuration: KafkaConfiguration, partitions: [TopicPartition], from start: Start,
        handler: @escaping @Sendable (KafkaRecord) -> Void
    ) async throws -> PartitionTail {
        let conf = try configuration.standaloneConsumer(purpose: "tail", fetchWaitMs: 5)
            .merging(["socket.nagle.disable": "true"]).makeNativeConfiguration()
        let handle = try KafkaHandle(type: RD_KAFKA_CONSUMER, configuration: conf)
        let ends = try await DedicatedThread.run(name: "chatfn-tail-assign") {
            var ends: [TopicPartition: Int64] = [:]
            var positions: [(TopicPartition, Int64)] = []
            for partition in partitions {
                let (low, high) = try ClusterMetadata.watermarks(handle.pointer, of: partition)
                ends[partition] = high
                switch start {
                case .end: positions.append((partition, high))
                case .beginning: positions.append((partition, Int64(RD_KAFKA_OFFSET_BEGINNING)))
                case .lastRecords(let count): positions.append((partition, max(low, high.subtractingSaturated(max(count, 0)))))
                }
            }
            let assignment = TopicPartition.makeNativeList(positions)
            defer { rd_kafka_topic_partition_list_destroy(assignment) }
            let assigned = rd_kafka_assign(handle.pointer, assignment)
            guard assigned == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError("cannot follow \(partitions.map(\.description).joined(separator: ","))", rdError: assigned)
            }
            return ends
        }
        let pollLoop = PollLoop(name: "chatfn-tail-poll", iteration: {
            guard let message = rd_kafka_consumer_poll(handle.pointer, 100) else { return }
            defer { rd_kafka_message_destroy(message) }
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR { handler(KafkaRecord(message: message)) }
        }, onExit: { _ = rd_kafka_consumer_close(handle.pointer) })
        return PartitionTail(handle: handle, pollLoop: pollLoop, startingEnds: ends)
    }

    package func shutdown() async {
        pollLoop.requestStop()
        await pollLoop.waitUntilFinished()
    }
}
