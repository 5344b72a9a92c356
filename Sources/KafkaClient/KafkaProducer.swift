import CKafka
import Logging
import Synchronization

/// Publishes records and reports, per record, where the broker stored it.
///
/// Delivery reports are served by a poll loop on a dedicated thread; `send` suspends until its report
/// arrives, so a returned receipt means the broker acknowledged the record (`acks=all` by default).
package final class KafkaProducer: Sendable {
    private let handle: KafkaHandle
    private let deliveries: DeliveryRegistry
    private let pollLoop: PollLoop
    private let abandoned = Atomic<Bool>(false)

    /// - Parameters:
    ///   - lowLatency: no batching delay, for request/reply paths and the registry's writes.
    ///   - idempotent: the broker keeps each partition's records in order and drops a retry's duplicate.
    ///     Off for blocking requests and replies only: each is matched by its correlation id and a
    ///     duplicate is dropped there, and the idempotent producer holds part of a burst back (measured
    ///     with librdkafka 2.0.2: a 36 ms p99 for a reply's hop at 1,000 replies/s, 7 ms without).
    package init(configuration: KafkaConfiguration, lowLatency: Bool = false, idempotent: Bool = true) throws {
        var defaults: [String: String] = ["enable.idempotence": String(idempotent), "socket.nagle.disable": "true"]
        defaults["linger.ms"] = lowLatency ? "0" : "5"
        // librdkafka's 5 minutes would hold a record's fate that long while the broker is away: a send
        // fails sooner, and its caller retries or gives the record up (replies: the caller has timed out).
        defaults["message.timeout.ms"] = lowLatency ? "10000" : "30000"
        // A configuration shared with a consumer carries consumer-only settings librdkafka would warn about.
        let producerProperties = configuration.withoutConsumerProperties.properties
        let effective = KafkaConfiguration(bootstrapServers: configuration.bootstrapServers, properties: defaults)
            .merging(producerProperties)
        let conf = try effective.makeNativeConfiguration()
        let deliveries = DeliveryRegistry()
        // The registry outlives the handle: both are owned by this producer, the handle is destroyed first.
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(deliveries).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(conf, deliveryReportCallback)
        let handle = try KafkaHandle(type: RD_KAFKA_PRODUCER, configuration: conf)
        self.handle = handle
        self.deliveries = deliveries
        self.pollLoop = PollLoop(name: "chatfn-producer-poll", iteration: { _ = rd_kafka_poll(handle.pointer, 100) })
    }

    deinit {
        pollLoop.requestStop()
    }


    /// Publishes `record` and returns once the broker has acknowledged it (or throws once
    /// ``abandonDeliveries()`` was called).
    @discardableResult
    package func send(_ record: ProducerRecord) async throws -> DeliveryReceipt {
        try await withCheckedThrowingContinuation { continuation in
            let id = deliveries.register(continuation)
            // Checked once registered: abandoning fails what is registered, and sets the flag first.
            if deliveriesAbandoned {
                deliveries.take(id)?.resume(throwing: Self.abandonedError)
            } else if let error = enqueue(record, messageId: id) {
                deliveries.take(id)?.resume(throwing: error)
            }
        }
    }

    /// Ends every ``send(_:)`` still waiting for its delivery report, and every later one, with an error:
    /// a stopping chatfn is not held for `message.timeout.ms` by a broker that is away. The records may
    /// still be delivered (their reports then find no one waiting); ``sendInBackground(_:)`` and
    /// ``flush(timeoutMs:)`` go on working.
    package func abandonDeliveries() {
        abandoned.store(true, ordering: .sequentiallyConsistent)
        deliveries.failAll(Self.abandonedError)
    }

    /// Whether ``abandonDeliveries()`` was called.
    package var deliveriesAbandoned: Bool { abandoned.load(ordering: .sequentiallyConsistent) }

    private static let abandonedError = KafkaError("chatfn is stopping: the record's delivery is not waited for")

    /// Looks up `topics` now, so that the first record to each does not wait for librdkafka to discover
    /// the topic (about a second otherwise).
    package func prepare(topics: [String]) async throws {
        let handle = handle
        try await DedicatedThread.run(name: "chatfn-producer-prepare") {
            for topic in topics {
                guard let topicHandle = rd_kafka_topic_new(handle.pointer, topic, nil) else { continue }
                defer { rd_kafka_topic_destroy(topicHandle) }
                var metadata: UnsafePointer<rd_kafka_metadata>?
                let result = rd_kafka_metadata(handle.pointer, 0, topicHandle, &metadata, 10_000)
                if let metadata { rd_kafka_metadata_destroy(metadata) }
                guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("could not look up topic \(topic)", rdError: result) }
            }
        }
    }

    /// The partition count of each of `topics` that exists.
    package func partitionCounts(of topics: [String]) async throws -> [String: Int32] {
        let handle = handle
        let all = try await DedicatedThread.run(name: "chatfn-producer-metadata") { try ClusterMetadata.topics(handle.pointer, timeoutMs: 10_000) }
        return all.filter { topics.contains($0.key) }
    }

    /// Publishes `record` without waiting for the broker, for records whose loss is tolerable (invocation
    /// records, metrics); failures are counted in ``backgroundFailures``.
    package func sendInBackground(_ record: ProducerRecord) {
        if enqueue(record, messageId: 0) != nil { deliveries.backgroundFailures.add(1, ordering: .relaxed) }
    }

    /// Records given to ``sendInBackground(_:)`` that were not delivered.
    package var backgroundFailures: Int { deliveries.backgroundFailures.load(ordering: .relaxed) }

    /// Waits until every queued record has a delivery report, or `timeoutMs` passed; true when all did.
    package func flush(timeoutMs: Int32 = 10_000) async -> Bool {
        let handle = handle
        let result = try? await DedicatedThread.run(name: "chatfn-producer-flush") {
            rd_kafka_flush(handle.pointer, timeoutMs)
        }
        return result == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    /// Flushes, stops the poll thread, and fails whatever is still unreported.
    package func shutdown(timeoutMs: Int32 = 10_000) async {
        _ = await flush(timeoutMs: timeoutMs)
        pollLoop.requestStop()
        await pollLoop.waitUntilFinished()
        deliveries.failAll(KafkaError("producer shut down before the record was delivered"))
    }

    /// Hands the record to librdkafka (which copies key and value); nil on success.
    private func enqueue(_ record: ProducerRecord, messageId: UInt) -> KafkaError? {
        let headers = rd_kafka_headers_new(record.headers.count)
        for header in record.headers {
            if let value = header.value {
                _ = value.withUnsafeBytes { rd_kafka_header_add(headers, header.key, -1, $0.baseAddress, $0.count) }
            } else {
                _ = rd_kafka_header_add(headers, header.key, -1, nil, 0)
            }
        }
        var failure: KafkaError?
        record.topic.withCString { topic in
            record.value.withUnsafeBytes { value in
                withOptionalBytes(record.key) { key in
                    var values = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: record.timestampMs == nil ? 7 : 8)
                    values[0].vtype = RD_KAFKA_VTYPE_TOPIC
                    values[0].u.cstr = topic
                    values[1].vtype = RD_KAFKA_VTYPE_PARTITION
                    values[1].u.i32 = record.partition ?? RD_KAFKA_PARTITION_UA
                    values[2].vtype = RD_KAFKA_VTYPE_VALUE
                    values[2].u.mem.ptr = record.isTombstone ? nil : UnsafeMutableRawPointer(mutating: value.baseAddress)
                    values[2].u.mem.size = record.isTombstone ? 0 : value.count
                    values[3].vtype = RD_KAFKA_VTYPE_KEY
                    values[3].u.mem.ptr = key.map { UnsafeMutableRawPointer(mutating: $0.baseAddress) } ?? nil
                    values[3].u.mem.size = key?.count ?? 0
                    values[4].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    values[4].u.i = RD_KAFKA_MSG_F_COPY
                    values[5].vtype = RD_KAFKA_VTYPE_OPAQUE
                    values[5].u.ptr = UnsafeMutableRawPointer(bitPattern: messageId)
                    values[6].vtype = RD_KAFKA_VTYPE_HEADERS
                    values[6].u.headers = headers
                    if let timestamp = record.timestampMs {
                        values[7].vtype = RD_KAFKA_VTYPE_TIMESTAMP
                        values[7].u.i64 = timestamp
                    }
                    if let error = rd_kafka_produceva(handle.pointer, &values, values.count) {
                        rd_kafka_headers_destroy(headers)  // ownership passes to librdkafka only on success
                        failure = KafkaError("could not publish to \(record.topic)", consuming: error)
                    }
                }
            }
        }
        return failure
    }
}

private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let bytes else { return body(nil) }
    return bytes.withUnsafeBytes { body($0) }
}
