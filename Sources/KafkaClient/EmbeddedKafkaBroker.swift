import CKafka

/// An in-process Kafka-protocol cluster (librdkafka's mock cluster) for local development and tests.
///
/// It listens on ephemeral 127.0.0.1 ports that any Kafka client can reach; ``bootstrapServers`` names
/// them. It keeps data in memory only and supports fault injection (broker down, request errors).
package final class EmbeddedKafkaBroker: Sendable {
    package let bootstrapServers: String

    /// Client settings for talking to the embedded broker. Its fetch handler, unlike a real broker's,
    /// answers an empty fetch only after the full `fetch.wait.max.ms`, which would add up to that wait to
    /// every event's latency; a short wait keeps the local loop snappy.
    package static let clientProperties: [String: String] = ["fetch.wait.max.ms": "5"]
    /// librdkafka's mock cluster serialises its own operations; the pointer is immutable.
    private nonisolated(unsafe) let cluster: OpaquePointer
    private let handle: KafkaHandle

    package init(brokerCount: Int32 = 1) throws {
        // The mock cluster lives inside a client instance; a producer with no brokers of its own serves.
        let conf = try KafkaConfiguration(bootstrapServers: "", properties: ["log_level": "3"])
            .makeNativeConfiguration()
        let handle = try KafkaHandle(type: RD_KAFKA_PRODUCER, configuration: conf)
        guard let cluster = rd_kafka_mock_cluster_new(handle.pointer, brokerCount) else {
            throw KafkaError("could not start the embedded Kafka broker")
        }
        self.handle = handle
        self.cluster = cluster
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }

    /// Creates `topic` with `partitions` partitions; creating an existing topic is not an error.
    package func createTopic(_ topic: String, partitions: Int32) throws {
        let result = rd_kafka_mock_topic_create(cluster, topic, partitions, 1)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR || result == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS else {
            throw KafkaError("could not create topic \(topic)", rdError: result)
        }
    }

    /// Takes broker `id` (1-based) off the network until ``setBrokerUp(_:)``.
    package func setBrokerDown(_ id: Int32 = 1) throws {
        let result = rd_kafka_mock_broker_set_down(cluster, id)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("broker \(id) down", rdError: result) }
    }

    package func setBrokerUp(_ id: Int32 = 1) throws {
        let result = rd_kafka_mock_broker_set_up(cluster, id)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("broker \(id) up", rdError: result) }
    }

    /// Makes the next requests of Kafka API `apiKey` (e.g. 0 Produce, 1 Fetch, 8 OffsetCommit) fail with
    /// `errorCodes` (Kafka protocol error codes), one per request.
    package func injectRequestErrors(apiKey: Int16, errorCodes: [Int32]) {
        let errors = errorCodes.map { rd_kafka_resp_err_t(rawValue: $0) }
        errors.withUnsafeBufferPointer {
            rd_kafka_mock_push_request_errors_array(cluster, apiKey, $0.count, $0.baseAddress)
        }
    }
}
