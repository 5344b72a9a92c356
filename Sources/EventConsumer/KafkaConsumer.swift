import ChatfnCore
import CKafka
import Foundation
import Logging

/// A member of a Kafka consumer group that hands records out as an `AsyncSequence` and commits each
/// partition only up to the contiguous prefix of records the application reported processed.
///
/// librdkafka is polled on a dedicated thread. That thread also runs the rebalance callback: on revoke it
/// waits (bounded) for the revoked partitions' records to finish and commits them before releasing the
/// partitions. ``shutdown()`` stops fetching, drains, commits and leaves the group.
public final class KafkaConsumer: Sendable {
    /// Records in the order the broker delivered them, per partition.
    public let records: KafkaRecordSequence
    private let core: ConsumerCore
    private let handle: KafkaHandle
    private let pollLoop: PollLoop

    public init(configuration: KafkaConsumerConfiguration, logger: Logger) throws {
        let conf = try configuration.effectiveKafka.makeNativeConfiguration()
        let (batches, continuation) = AsyncStream.makeStream(of: [KafkaRecord].self)
        let core = ConsumerCore(configuration: configuration, logger: logger, continuation: continuation)
        // The core outlives the handle: both are owned by this consumer, and the poll loop, the only
        // caller of callbacks, ends before the handle is destroyed.
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(core).toOpaque())
        rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
        let handle = try KafkaHandle(type: RD_KAFKA_CONSUMER, configuration: conf)
        rd_kafka_poll_set_consumer(handle.pointer)
        let subscription = TopicPartition.makeNativeList(
            configuration.topics.map { (TopicPartition(topic: $0, partition: RD_KAFKA_PARTITION_UA), nil) })
        let subscribeError = rd_kafka_subscribe(handle.pointer, subscription)
        rd_kafka_topic_partition_list_destroy(subscription)
        guard subscribeError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError("could not subscribe to \(configuration.topics.joined(separator: ", "))", rdError: subscribeError)
        }
        self.records = KafkaRecordSequence(batches: batches)
        self.core = core
        self.handle = handle
        self.pollLoop = PollLoop(
            name: "chatfn-consumer-poll",
            iteration: { core.pollOnce(handle.pointer) },
            onExit: { if !core.close(handle.pointer) { handle.leakInsteadOfDestroying() } }
        )
    }

    /// Reports `record` processed (whatever its outcome): its offset becomes committable once every
    /// earlier record of its partition is processed too.
    public func markProcessed(_ record: KafkaRecord) {
        core.markProcessed(record)
    }

    /// Gives `record` up without processing it, when stopping: its offset is not committed (the next
    /// owner runs it), and shutdown does not wait for it.
    public func abandon(_ record: KafkaRecord) {
        core.progress.abandoned(record.position, generation: record.assignmentGeneration)
    }

    /// Fires when the partition `record` came from is being revoked from this member: work for it that
    /// has not started must not start (its next owner runs it).
    public func revocation(of record: KafkaRecord) -> StopSignal {
        core.progress.revocationSignal(for: record.position, generation: record.assignmentGeneration)
    }

    /// The partitions this member owns now.
    public var assignment: [TopicPartition] { core.progress.assignment }

    /// The group's committed offsets (the next offset to consume) of the partitions this member owns.
    public func committedOffsets() async throws -> [TopicPartition: Int64] {
        let handle = handle
        let assignment = assignment
        return try await DedicatedThread.run(name: "chatfn-committed") {
            let list = TopicPartition.makeNativeList(assignment.map { ($0, nil) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let result = rd_kafka_committed(handle.pointer, list, 10_000)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("could not read committed offsets", rdError: result) }
            var offsets: [TopicPartition: Int64] = [:]
            for index in 0..<Int(list.pointee.cnt) {
                let element = list.pointee.elems[index]
                offsets[TopicPartition(topic: String(cString: element.topic), partition: element.partition)] = element.offset
            }
            return offsets
        }
    }

    /// Records handed out and not yet committable.
    public var inFlight: Int { core.progress.inFlight }

    /// Stops fetching, waits up to the drain timeout for handed-out records, commits, leaves the group,
    /// and ends ``records``.
    public func shutdown() async {
        pollLoop.requestStop()
        await pollLoop.waitUntilFinished()
    }
}
