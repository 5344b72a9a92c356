import ChatfnCore
import KafkaClient
import Logging

/// A member of a Kafka consumer group that hands records out as leases and commits each partition only
/// up to the contiguous prefix of records whose leases completed.
///
/// librdkafka is polled on a dedicated thread. That thread also serves rebalances: on revoke it waits
/// (bounded) for the revoked partitions' records to finish and commits them before releasing the
/// partitions. ``shutdown()`` stops fetching, drains, commits and leaves the group.
package final class KafkaConsumer: Sendable {
    /// Records in the order the broker delivered them, per partition.
    package let records: RecordLeases
    private let core: ConsumerCore
    private let pollLoop: PollLoop

    package init(configuration: KafkaConsumerConfiguration, logger: Logger) throws {
        let client = try ConsumerClient(configuration: configuration.effectiveKafka, logger: logger)
        try client.subscribe(configuration.topics)
        let (batches, continuation) = AsyncStream.makeStream(of: [RecordLease].self)
        let core = ConsumerCore(client: client, configuration: configuration, logger: logger, continuation: continuation)
        self.records = RecordLeases(batches: batches)
        self.core = core
        self.pollLoop = PollLoop(name: "chatfn-consumer-poll", iteration: { core.pollOnce() }, onExit: { core.close() })
    }

    /// The partitions this member owns now.
    package var assignment: [TopicPartition] { core.assignment }

    /// The group's committed offsets (the next offset to consume) of the partitions this member owns.
    package func committedOffsets() async throws -> [TopicPartition: Int64] {
        let client = core.client
        let assignment = assignment
        return try await DedicatedThread.run(name: "chatfn-committed") { try client.committedOffsets(assignment) }
    }

    /// Whether flow control paused fetching (the in-flight bound held).
    package var isFetchingPaused: Bool { core.isFetchingPaused }

    /// Records handed out and not yet committable.
    package var inFlight: Int { core.inFlight }

    /// Stops fetching, waits up to the drain timeout for handed-out records, commits, leaves the group,
    /// and ends ``records``.
    package func shutdown() async {
        pollLoop.requestStop()
        await pollLoop.waitUntilFinished()
    }
}
