import ChatfnCore
import CKafka
import Foundation
import Logging

/// The consumer's state shared by its poll thread, its rebalance callback and the application.
///
/// `@unchecked Sendable`: `paused` is read and written only on the poll thread (poll loop and rebalance
/// callback both run there); `progress` guards itself; the rest is immutable or Sendable.
final class ConsumerCore: @unchecked Sendable {
    let configuration: KafkaConsumerConfiguration
    let logger: Logger
    let progress = ConsumerProgress()
    private let continuation: AsyncStream<KafkaRecord>.Continuation
    private var paused = false

    init(configuration: KafkaConsumerConfiguration, logger: Logger, continuation: AsyncStream<KafkaRecord>.Continuation) {
        self.configuration = configuration
        self.logger = logger
        self.continuation = continuation
    }

    // MARK: poll thread

    func pollOnce(_ client: OpaquePointer) {
        applyFlowControl(client)
        guard let message = rd_kafka_consumer_poll(client, paused ? 10 : 100) else { return }
        defer { rd_kafka_message_destroy(message) }
        guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            report(consumerError: message)
            return
        }
        var record = KafkaRecord(message: message)
        record.assignmentGeneration = progress.delivered(record.position)
        continuation.yield(record)
    }

    /// Pauses every assigned partition at the in-flight bound and resumes at half of it, so that a
    /// backlog never turns into unbounded memory.
    private func applyFlowControl(_ client: OpaquePointer) {
        let inFlight = progress.inFlight
        if !paused, inFlight >= configuration.maxInFlight {
            setAssignmentPaused(client, true)
        } else if paused, inFlight <= configuration.maxInFlight / 2 {
            setAssignmentPaused(client, false)
        }
    }

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

    /// Waits (bounded) for handed-out records of `partitions` (all when nil) and commits what completed.
    private func drainAndCommit(_ client: OpaquePointer, _ partitions: [TopicPartition]?) {
        let unfinished = progress.waitUntilDrained(partitions, deadline: Date().addingTimeInterval(configuration.drainTimeout.fractionalSeconds))
        if unfinished > 0 {
            logger.warning("drain timed out; unfinished records will run again on the next owner",
                           metadata: ["unfinished": "\(unfinished)"])
        }
        logCommitFailure(rd_kafka_commit(client, nil, 0))
    }

    /// Runs on the poll thread once the loop stopped: stop fetching, drain, commit, leave the group.
    func close(_ client: OpaquePointer) {
        setAssignmentPaused(client, true)
        _ = progress.waitUntilDrained(nil, deadline: Date().addingTimeInterval(configuration.drainTimeout.fractionalSeconds))
        commitBeforeLeaving(client, deadline: Date().addingTimeInterval(configuration.drainTimeout.fractionalSeconds))
        let result = rd_kafka_consumer_close(client)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("leaving the group failed", metadata: ["error": "\(String(cString: rd_kafka_err2str(result)))"])
        }
        continuation.finish()
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

    func markProcessed(_ record: KafkaRecord, handle client: OpaquePointer) {
        guard let nextOffset = progress.completed(record.position, generation: record.assignmentGeneration) else { return }
        let list = TopicPartition.makeNativeList([(TopicPartition(topic: record.topic, partition: record.partition), nextOffset)])
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let result = rd_kafka_offsets_store(client, list)
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            // The partition was revoked meanwhile: its next owner runs the record again (at-least-once).
            logger.debug("offset not stored", metadata: ["position": "\(record.position)", "error": "\(String(cString: rd_kafka_err2str(result)))"])
        }
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
