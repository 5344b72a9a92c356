import CKafka
import ChatfnCore
import Foundation
import Logging

/// What librdkafka asks of a group member during a rebalance.
package enum RebalanceEvent: Sendable, Equatable {
    case assign([TopicPartition])
    /// `lost`: the member lost these partitions (its session expired): another member may already own
    /// them, so neither a drain nor a commit is of use.
    case revoke([TopicPartition], lost: Bool)
    case failed(reason: String, [TopicPartition])
}

/// How a commit went.
package enum CommitOutcome: Sendable, Equatable {
    case committed
    /// Nothing was stored since the last commit.
    case nothingToCommit
    /// Refused for now (a rebalance in progress, the coordinator moving): worth retrying.
    case retriable(String)
    case failed(String)
}

/// A consumer group member's librdkafka handle, one method per C call (as swift-kafka-client's
/// `RDKafkaClient`): the only place a consumer touches librdkafka. Every method is called on the
/// consumer's poll thread, which also receives the rebalance events, from inside ``poll(waitingMs:atMost:rebalance:)``,
/// ``commitServingRebalances(until:rebalance:)`` and ``close(rebalance:)``.
package final class ConsumerClient: Sendable {
    private let handle: KafkaHandle
    private let relay: RebalanceRelay
    private let logger: Logger
    /// A broker away can answer every poll with an error: one line per 10 s, with the count.
    private let consumerErrors: RateLimitedLog
    /// `partition.assignment.strategy` names a cooperative one.
    package let configuredCooperative: Bool

    package init(configuration: KafkaConfiguration, logger: Logger) throws {
        let conf = try configuration.makeNativeConfiguration()
        let relay = RebalanceRelay()
        // The relay outlives the handle: both are owned by this client, the handle is destroyed first.
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(relay).toOpaque())
        rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback)
        rd_kafka_conf_set_stats_cb(conf, statisticsCallback)
        handle = try KafkaHandle(type: RD_KAFKA_CONSUMER, configuration: conf)
        rd_kafka_poll_set_consumer(handle.pointer)
        self.relay = relay
        self.logger = logger
        self.consumerErrors = RateLimitedLog(logger: logger, interval: .seconds(10))
        self.configuredCooperative = configuration.properties["partition.assignment.strategy"]?.contains("cooperative") == true
    }

    package func subscribe(_ topics: [String]) throws {
        let subscription = TopicPartition.makeNativeList(topics.map { (TopicPartition(topic: $0, partition: RD_KAFKA_PARTITION_UA), nil) })
        defer { rd_kafka_topic_partition_list_destroy(subscription) }
        let result = rd_kafka_subscribe(handle.pointer, subscription)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError("could not subscribe to \(topics.joined(separator: ", "))", rdError: result)
        }
    }

    /// Waits up to `waitingMs` for a record, then takes what else is already here without waiting, at
    /// most `limit` in all, and stops early at a rebalance, so that a batch never spans one. Consumer
    /// errors are logged, not returned, and count towards `limit`: a stream of them ends the batch too.
    package func poll(waitingMs: Int32, atMost limit: Int, rebalance: (RebalanceEvent) -> Void) -> [KafkaRecord] {
        var rebalanced = false
        let noting: (RebalanceEvent) -> Void = { event in
            rebalanced = true
            rebalance(event)
        }
        return relay.serving(noting) {
            var message = rd_kafka_consumer_poll(handle.pointer, waitingMs)
            var batch: [KafkaRecord] = []
            var taken = 0
            while let current = message {
                if current.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    batch.append(KafkaRecord(message: current))
                } else {
                    report(consumerError: current)
                }
                rd_kafka_message_destroy(current)
                taken += 1
                message = taken < limit && !rebalanced ? rd_kafka_consumer_poll(handle.pointer, 0) : nil
            }
            return batch
        }
    }

    /// Hands librdkafka the next offsets to commit, in one call (auto-commit sends them). A partition
    /// revoked meanwhile fails its store: its next owner runs those records again.
    package func storeOffsets(_ offsets: [(TopicPartition, Int64)]) {
        guard !offsets.isEmpty else { return }
        let list = TopicPartition.makeNativeList(offsets.map { ($0.0, $0.1) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        _ = rd_kafka_offsets_store(handle.pointer, list)
    }

    /// Pauses or resumes fetching of `partitions`, or of the whole assignment when nil.
    package func setPaused(_ paused: Bool, _ partitions: [TopicPartition]? = nil) {
        let list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
        if let partitions {
            list = TopicPartition.makeNativeList(partitions.map { ($0, nil) })
        } else {
            var assignment: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            guard rd_kafka_assignment(handle.pointer, &assignment) == RD_KAFKA_RESP_ERR_NO_ERROR, let assignment else { return }
            list = assignment
        }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        _ = paused ? rd_kafka_pause_partitions(handle.pointer, list) : rd_kafka_resume_partitions(handle.pointer, list)
    }

    /// Whether the group uses the cooperative protocol (incremental assign and unassign). librdkafka
    /// names none (NULL) for a consumer in no group, and at times while one closes: the configured
    /// strategy says then.
    private var isCooperative: Bool {
        guard let name = rd_kafka_rebalance_protocol(handle.pointer) else { return configuredCooperative }
        return String(cString: name) == "COOPERATIVE"
    }

    /// Takes `partitions` on (during an assign event).
    package func assign(_ partitions: [TopicPartition]) {
        let list = TopicPartition.makeNativeList(partitions.map { ($0, nil) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        if isCooperative {
            if let error = rd_kafka_incremental_assign(handle.pointer, list) {
                logger.error("\(KafkaError("incremental assign failed", consuming: error))")
            }
        } else {
            _ = rd_kafka_assign(handle.pointer, list)
        }
    }

    /// Lets `partitions` go (during a revoke event); the eager protocol lets go of everything.
    package func unassign(_ partitions: [TopicPartition]) {
        guard isCooperative else {
            _ = rd_kafka_assign(handle.pointer, nil)
            return
        }
        let list = TopicPartition.makeNativeList(partitions.map { ($0, nil) })
        defer { rd_kafka_topic_partition_list_destroy(list) }
        if let error = rd_kafka_incremental_unassign(handle.pointer, list) {
            logger.error("\(KafkaError("incremental unassign failed", consuming: error))")
        }
    }

    /// Lets go of every partition (after a failed rebalance).
    package func unassignAll() {
        _ = rd_kafka_assign(handle.pointer, nil)
    }

    /// Commits the stored offsets, synchronously.
    package func commit() -> CommitOutcome {
        let result = rd_kafka_commit(handle.pointer, nil, 0)
        switch result {
        case RD_KAFKA_RESP_ERR_NO_ERROR: return .committed
        case RD_KAFKA_RESP_ERR__NO_OFFSET: return .nothingToCommit
        case _ where Self.retriableCommitErrors.contains(result): return .retriable(String(cString: rd_kafka_err2str(result)))
        default: return .failed(String(cString: rd_kafka_err2str(result)))
        }
    }

    /// Commits, riding out a rebalance in progress (a coordinator refuses commits until it completes)
    /// by serving the group protocol meanwhile, until `deadline`. Fetching should be paused: a record
    /// fetched anyway is dropped here, not committed, so its next owner runs it.
    package func commitServingRebalances(until deadline: ContinuousClock.Instant, rebalance: (RebalanceEvent) -> Void) -> CommitOutcome {
        while true {
            let outcome = commit()
            guard case .retriable = outcome, ContinuousClock.now < deadline else { return outcome }
            relay.serving(rebalance) {
                if let message = rd_kafka_consumer_poll(handle.pointer, 100) { rd_kafka_message_destroy(message) }
            }
        }
    }

    /// Leaves the group (revoking what it holds through `rebalance`). librdkafka before 2.3.0 aborts
    /// destroying a cooperative-sticky member that never received an assignment (librdkafka issue #4312):
    /// such a handle is left to the process's exit instead of being destroyed.
    package func close(everAssigned: Bool, cooperativeStrategy: Bool, rebalance: (RebalanceEvent) -> Void) {
        let result = relay.serving(rebalance) { rd_kafka_consumer_close(handle.pointer) }
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("leaving the group failed", metadata: ["error": "\(String(cString: rd_kafka_err2str(result)))"])
        }
        let fixedVersion: Int32 = 0x0203_00ff
        if !everAssigned, cooperativeStrategy, rd_kafka_version() < fixedVersion { handle.leakInsteadOfDestroying() }
    }

    /// The group's committed offsets (the next offset to consume) of `partitions`; blocks up to 10 s.
    package func committedOffsets(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64] {
        let list = TopicPartition.makeNativeList(partitions.map { ($0, nil) })
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

    /// The next offset to be written (the high watermark) of each of `partitions`; blocks up to 10 s.
    package func endOffsets(_ partitions: [TopicPartition]) throws -> [TopicPartition: Int64] {
        var ends: [TopicPartition: Int64] = [:]
        for partition in partitions {
            ends[partition] = try ClusterMetadata.watermarks(handle.pointer, of: partition).high
        }
        return ends
    }

    private static let retriableCommitErrors: Set<rd_kafka_resp_err_t> = [
        RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__WAIT_COORD,
    ]

    private func report(consumerError message: UnsafeMutablePointer<rd_kafka_message_t>) {
        let code = message.pointee.err
        if code == RD_KAFKA_RESP_ERR__PARTITION_EOF { return }
        let text = String(cString: rd_kafka_message_errstr(message))
        if code == RD_KAFKA_RESP_ERR__FATAL {
            logger.critical("fatal consumer error: \(text)")
        } else {
            consumerErrors.warning("consumer error: \(text)")
        }
    }
}

/// Carries librdkafka's rebalance callback to the handler of the call that is serving it.
///
/// `@unchecked Sendable`: `handler` and `reportedLag` are confined to the poll thread, the only thread
/// that calls the client's serving methods and the only one librdkafka runs the callbacks on.
private final class RebalanceRelay: @unchecked Sendable {
    private var handler: ((RebalanceEvent) -> Void)?
    /// Partitions whose lag was reported: those that drop out of the statistics are reported gone.
    var reportedLag: Set<TopicPartition> = []

    func serving<Result>(_ rebalance: (RebalanceEvent) -> Void, _ body: () -> Result) -> Result {
        withoutActuallyEscaping(rebalance) { rebalance in
            handler = rebalance
            defer { handler = nil }
            return body()
        }
    }

    func deliver(_ event: RebalanceEvent) {
        handler?(event)
    }
}

/// librdkafka calls this on the poll thread, from inside `rd_kafka_consumer_poll` or `rd_kafka_consumer_close`.
private let rebalanceCallback: @convention(c) (
    OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?
) -> Void = { client, error, partitions, opaque in
    guard let client, let opaque else { return }
    let changed = TopicPartition.list(from: partitions)
    let relay = Unmanaged<RebalanceRelay>.fromOpaque(opaque).takeUnretainedValue()
    switch error {
    case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS: relay.deliver(.assign(changed))
    case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS: relay.deliver(.revoke(changed, lost: rd_kafka_assignment_lost(client) != 0))
    default: relay.deliver(.failed(reason: String(cString: rd_kafka_err2str(error)), changed))
    }
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
        isTombstone = raw.payload == nil
    }
}

/// librdkafka's statistics (every `statistics.interval.ms`), on the poll thread: each assigned
/// partition's `consumer_lag` (records between the end of the log and the group's committed offset)
/// becomes `chatfn_consumer_lag`. librdkafka frees the text (the callback returns 0).
private let statisticsCallback: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int, UnsafeMutableRawPointer?) -> Int32 = {
    _, json, length, opaque in
    guard let json, let opaque else { return 0 }
    let relay = Unmanaged<RebalanceRelay>.fromOpaque(opaque).takeUnretainedValue()
    let lags = ConsumerLag.read(UnsafeRawBufferPointer(start: json, count: length))
    for (partition, lag) in lags { ChatfnMetrics.consumerLag(topic: partition.topic, partition: partition.partition, records: lag) }
    for gone in relay.reportedLag.subtracting(lags.keys) { ChatfnMetrics.consumerLag(topic: gone.topic, partition: gone.partition, records: nil) }
    relay.reportedLag = Set(lags.keys)
    return 0
}

/// The consumer lag of each partition in librdkafka's statistics JSON where it is known (assigned
/// partitions with a committed offset).
enum ConsumerLag {
    static func read(_ json: UnsafeRawBufferPointer) -> [TopicPartition: Int64] {
        guard let statistics = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any],
              let topics = statistics["topics"] as? [String: Any] else { return [:] }
        var lags: [TopicPartition: Int64] = [:]
        for (topic, value) in topics {
            guard let partitions = (value as? [String: Any])?["partitions"] as? [String: Any] else { continue }
            for (key, partitionValue) in partitions {
                guard let partition = Int32(key), partition >= 0,
                      let lag = ((partitionValue as? [String: Any])?["consumer_lag"] as? NSNumber)?.int64Value, lag >= 0 else { continue }
                lags[TopicPartition(topic: topic, partition: partition)] = lag
            }
        }
        return lags
    }
}
