import CKafka
import Foundation

/// Follows one partition from its current end, outside any consumer group, handing each new record to
/// `handler` on a dedicated poll thread: how a client reads the replies addressed to it.
package final class PartitionTail: Sendable {
    private let handle: KafkaHandle
    private let pollLoop: PollLoop

    private init(handle: KafkaHandle, pollLoop: PollLoop) {
        self.handle = handle
        self.pollLoop = pollLoop
    }

    /// Starts following `topic`/`partition` from its end as of now; returns once positioned there, so no
    /// record published after this returns is missed.
    package static func start(
        configuration: KafkaConfiguration, topic: String, partition: Int32,
        handler: @escaping @Sendable (KafkaRecord) -> Void
    ) async throws -> PartitionTail {
        let conf = try configuration.standaloneConsumer(purpose: "tail", fetchWaitMs: 5)
            .merging(["socket.nagle.disable": "true"]).makeNativeConfiguration()
        let handle = try KafkaHandle(type: RD_KAFKA_CONSUMER, configuration: conf)
        try await DedicatedThread.run(name: "chatfn-tail-assign") {
            let high = try ClusterMetadata.watermarks(handle.pointer, of: TopicPartition(topic: topic, partition: partition)).high
            let assignment = TopicPartition.makeNativeList([(TopicPartition(topic: topic, partition: partition), high)])
            defer { rd_kafka_topic_partition_list_destroy(assignment) }
            let assigned = rd_kafka_assign(handle.pointer, assignment)
            guard assigned == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("cannot follow \(topic)/\(partition)", rdError: assigned) }
        }
        let pollLoop = PollLoop(name: "chatfn-tail-poll", iteration: {
            guard let message = rd_kafka_consumer_poll(handle.pointer, 100) else { return }
            defer { rd_kafka_message_destroy(message) }
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR { handler(KafkaRecord(message: message)) }
        }, onExit: { _ = rd_kafka_consumer_close(handle.pointer) })
        return PartitionTail(handle: handle, pollLoop: pollLoop)
    }

    package func shutdown() async {
        pollLoop.requestStop()
        await pollLoop.waitUntilFinished()
    }
}
