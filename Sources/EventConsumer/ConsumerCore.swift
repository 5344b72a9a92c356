import ChatfnCore
import CKafka
import Foundation
import Logging

/// The consumer's state shared by its poll thread, its rebalance callback and the application.
///
/// `@unchecked Sendable`: `paused`, `fullSince` and `everAssigned` are read and written only on the poll thread (poll loop and rebalance
/// callback both run there); `progress` guards itself; the rest is immutable or Sendable.
final class ConsumerCore: @unchecked Sendable {
    let configuration: KafkaConsumerConfiguration
    let logger: Logger
    let progress = ConsumerProgress()
    private let continuation: AsyncStream<[KafkaRecord]>.Continuation
    private var paused = false
    /// Since when the in-flight bound has held (poll thread only).
    private var fullSince: ContinuousClock.Instant?
    /// Whether a rebalance ever assigned partitions to this member (poll thread only).
    private var everAssigned = false

    /// Most records handed out in one batch: one wake-up of the application per batch, not per record.
    static let maxBatch = 512

    init(configuration: KafkaConsumerConfiguration, logger: Logger, continuation: AsyncStream<[KafkaRecord]>.Continuation) {
        self.configuration = configuration
        self.logger = logger
        self.continuation = continuation
    }

    // MARK: poll thread

    func pollOnce(_ client: OpaquePointer) {
        storeCompletedOffsets(client)
        guard hasRoom(client) else { return }
        handOut(client, waitingMs: 100, atMost: min(Self.maxBatch, max(1, configuration.maxInFlight - progress.inFlight)))
    }

    /// Waits up to `waitingMs` for a record, takes what else is already here without waiting (at most
    /// `limit` in all), and hands them out as one batch.
    private func handOut(_ client: OpaquePointer, waitingMs: Int32, atMost limit: Int) {
        var message = rd_kafka_consumer_poll(client, waitingMs)
        var batch: [KafkaRecord] = []
        while let current = message {
            if current.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                batch.append(KafkaRecord(message: current))
            } else {
                report(consumerError: current)
            }
            rd_kafka_message_destroy(current)
            message = batch.count < limit ? rd_kafka_consumer_poll(client, 0) : nil
        }
        guard !batch.isEmpty else { return }
        for (index, generation) in progress.delivered(batch.map(\.position)).enumerated() {
            batch[index].assignmentGeneration = generation
        }
        continuation.yield(batch)
    }

    /// Hands librdkafka the offsets that became committable, in one call (auto-commit sends them).
    private func storeCompletedOffsets(_ client: OpaquePointer) {
        let stores = progress.takePendingStores()
        guard !stores.isEmpty else { return }
        let list = TopicPartition.makeNativeList(stores.map { ($0.0, $0.1) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        // A partition revoked meanwhile fails its store: its next owner runs those records again.
        _ = rd_kafka_offsets_store(client, list)
    }

    /// Flow control: true when the application can take more records.
    ///
    /// At the in-flight bound the poll thread first just waits for room (completions wake it at once),
    /// so that a busy consumer resumes in microseconds. When the bound holds for longer than
    /// `pauseAfter`, it pauses every assigned partition and keeps polling, so that rebalances are served
    /// and memory stays bounded however long the functions take; it resumes at half the bound.
    private func hasRoom(_ client: OpaquePointer) -> Bool {
        let limit = configuration.maxInFlight
        if paused {
            if progress.inFlight <= limit / 2 {
                setAssignmentPaused(client, false)
                fullSince = nil
                return true
            }
            // Polling serves rebalances; a record fetched before the pause landed is handed out all the
            // same (dropping it would skip it until the next rebalance).
            handOut(client, waitingMs: 10, atMost: 1)
            return false
        }
        if progress.waitForRoom(below: limit, deadline: Date().addingTimeInterval(0.1)) {
            fullSince = nil
            return true
        }
        let since = fullSince ?? ContinuousClock.now
        fullSince = since
        if ContinuousClock.now - since >= Self.pauseAfter { setAssignmentPaused(client, true) }
        return false
    }

    /// How long the in-flight bound may hold before the consumer pauses its partitions.
    static let pauseAfter: Duration = .seconds(1)

    private func setAssignmentPaused(_ client: OpaquePointer, _ pause: Bool) {
        var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(client, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment else { return }
        defer { rd_kafka_topic_partition_list_destroy(assignment) }
        _ = pause ? rd_kafka_pause_partitions(client, assignment) : rd_kafka_resume_partitions(client, assignment)
        paused = pause
        logger.debug("\(pause ? "paused" : "resumed") fetching", metadata: ["inFlight": "\(progress.inFlight)"])
    }

    func handleRebalance(
        _ client: OpaquePointer, _ event: rd_kafka_resp_err_t, _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
    ) {
        let changed = TopicPartition.list(from: partitions)
        let cooperative = String(cString: rd_kafka_rebalance_protocol(client)) == "COOPERATIVE"
        switch event {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            logger.info("partitions assigned", metadata: ["partitions": "\(changed.map(\.description).joined(separator: ","))"])
            progress.assign(changed)
            everAssigned = true
            if cooperative {
                if let error = rd_kafka_incremental_assign(client, partitions) {
                    logger.error("\(KafkaError("incremental assign failed", consuming: error))")
                }
            } else {
                _ = rd_kafka_assign(client, partitions)
            }
            if paused { _ = rd_kafka_pause_partitions(client, partitions) }
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            logger.info("partitions revoked", metadata: ["partitions": "\(changed.map(\.description).joined(separator: ","))"])
            progress.markRevoking(changed)
            drainAndCommit(client, changed)
            progress.remove(changed)
            if cooperative {
                if let error = rd_kafka_incremental_unassign(client, partitions) {
                    logger.error("\(KafkaError("incremental unassign failed", consuming: error))")
                }
            } else {
                _ = rd_kafka_assign(client, nil)
            }
        default:
            logger.error("rebalance failed", metadata: ["error": "\(String(cString: rd_kafka_err2str(event)))"])
            progress.remove(changed)
            _ = rd_kafka_assign(client, nil)
        }
    }

    /// Waits (bounded by the drain timeout) for handed-out records of `partitions` (all when nil), then
    /// stores the offsets of what completed.
    private func drain(_ client: OpaquePointer, _ partitions: [TopicPartition]?) {
        let unfinished = progress.waitUntilDrained(partitions, deadline: drainDeadline())
        if unfinished > 0 {
            logger.warning("drain timed out; unfinished records will run again on the next owner",
                           metadata: ["unfinished": "\(unfinished)"])
        }
        storeCompletedOffsets(client)
    }

    private func drainDeadline() -> Date {
        Date().addingTimeInterval(configuration.drainTimeout.fractionalSeconds)
    }

    private func drainAndCommit(_ client: OpaquePointer, _ partitions: [TopicPartition]?) {
        drain(client, partitions)
        logCommitFailure(rd_kafka_commit(client, nil, 0))
    }

    /// Runs on the poll thread once the loop stopped: stop fetching, drain, commit, leave the group.
    /// Returns false when the client must not be destroyed: librdkafka before 2.3.0 aborts destroying a
    /// cooperative-sticky member that never received an assignment (librdkafka issue #4312).
    func close(_ client: OpaquePointer) -> Bool {
        setAssignmentPaused(client, true)
        drain(client, nil)
        commitBeforeLeaving(client, deadline: drainDeadline())
        let result = rd_kafka_consumer_close(client)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("leaving the group failed", metadata: ["error": "\(String(cString: rd_kafka_err2str(result)))"])
        }
        continuation.finish()
        let fixedVersion: Int32 = 0x0203_00ff
        let cooperative = configuration.effectiveKafka.properties["partition.assignment.strategy"]?.contains("cooperative") == true
        return everAssigned || !cooperative || rd_kafka_version() >= fixedVersion
    }

    /// Commits the stored offsets, riding out a rebalance that is in progress (a coordinator refuses
    /// commits until it completes) by serving the group protocol meanwhile. Fetching stays paused: a
    /// record fetched anyway is not handed out and not committed, so its next owner runs it.
    private func commitBeforeLeaving(_ client: OpaquePointer, deadline: Date) {
        while true {
            let result = rd_kafka_commit(client, nil, 0)
            guard Self.retriableCommitErrors.contains(result), Date() < deadline else {
                logCommitFailure(result)
                return
            }
            if let message = rd_kafka_consumer_poll(client, 100) { rd_kafka_message_destroy(message) }
        }
    }

    private static let retriableCommitErrors: Set<rd_kafka_resp_err_t> = [
        RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__WAIT_COORD,
    ]

    private func logCommitFailure(_ result: rd_kafka_resp_err_t) {
        if result != RD_KAFKA_RESP_ERR_NO_ERROR, result != RD_KAFKA_RESP_ERR__NO_OFFSET {
            logger.warning("commit failed", metadata: ["error": "\(String(cString: rd_kafka_err2str(result)))"])
        }
    }

    private func report(consumerError message: UnsafeMutablePointer<rd_kafka_message_t>) {
        let code = message.pointee.err
        if code == RD_KAFKA_RESP_ERR__PARTITION_EOF { return }
        let text = String(cString: rd_kafka_message_errstr(message))
        if code == RD_KAFKA_RESP_ERR__FATAL {
            logger.critical("fatal consumer error: \(text)")
        } else {
            logger.warning("consumer error: \(text)")
        }
    }

    // MARK: any thread

    func markProcessed(_ record: KafkaRecord) {
        progress.completed(record.position, generation: record.assignmentGeneration)
    }
}

/// librdkafka calls this on the poll thread, from inside `rd_kafka_consumer_poll` or `rd_kafka_consumer_close`.
let rebalanceCallback: @convention(c) (
    OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?
) -> Void = { client, event, partitions, opaque in
    guard let client, let opaque else { return }
    Unmanaged<ConsumerCore>.fromOpaque(opaque).takeUnretainedValue().handleRebalance(client, event, partitions)
}

extension KafkaRecord {
    /// Copies a consumed librdkafka message.
    init(message: UnsafeMutablePointer<rd_kafka_message_t>) {
        let raw = message.pointee
        let topic = raw.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        let value = raw.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.len)) } ?? []
        let key = raw.key.map { Array(UnsafeRawBufferPointer(start: $0, count: raw.key_len)) }
        var headers: [KafkaHeader] = []
        var nativeHeaders: OpaquePointer?
        if rd_kafka_message_headers(message, &nativeHeaders) == RD_KAFKA_RESP_ERR_NO_ERROR, let nativeHeaders {
            var index = 0
            var name: UnsafePointer<CChar>?
            var headerValue: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(nativeHeaders, index, &name, &headerValue, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                headers.append(KafkaHeader(
                    key: name.map { String(cString: $0) } ?? "",
                    value: headerValue.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        self.init(
            position: RecordPosition(topic: topic, partition: raw.partition, offset: raw.offset),
            key: key, value: value, headers: headers,
            timestampMs: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp)
    }
}
