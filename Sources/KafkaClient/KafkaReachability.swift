import CKafka
import ChatfnCore

/// Whether the cluster answers at all: one metadata request, so that a wrong address or a broker that is
/// down is one clear error within seconds, not librdkafka retrying for the length of a timeout.
package enum KafkaReachability {
    /// Throws when no broker of `configuration` answered within `timeout`, with librdkafka's last
    /// complaint about that client (connection refused, name not resolved, authentication failed, …).
    package static func check(_ configuration: KafkaConfiguration, timeout: Duration = .seconds(8)) async throws {
        let conf = try configuration.withoutConsumerProperties.makeNativeConfiguration()
        let handle = try KafkaHandle(type: RD_KAFKA_PRODUCER, configuration: conf)
        let client = String(cString: rd_kafka_name(handle.pointer))
        let timeoutMs = Int32(clamping: timeout.wholeMilliseconds)
        let result = try await DedicatedThread.run(name: "chatfn-kafka-probe") { () -> rd_kafka_resp_err_t in
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let result = rd_kafka_metadata(handle.pointer, 0, nil, &metadata, timeoutMs)
            if let metadata { rd_kafka_metadata_destroy(metadata) }
            return result
        }
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(KafkaLog.lastError(of: client) ?? String(cString: rd_kafka_err2str(result)), code: result.rawValue)
        }
    }
}
