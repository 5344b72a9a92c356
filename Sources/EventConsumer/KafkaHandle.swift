import CKafka

/// Owns one `rd_kafka_t`. librdkafka's client handle is thread-safe for every call chatfn makes on it,
/// and this type holds no Swift state beside the pointer.
final class KafkaHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    /// Creates the client; `configuration` is consumed either way.
    init(type: rd_kafka_type_t, configuration: OpaquePointer) throws {
        var errorBuffer = [CChar](repeating: 0, count: 512)
        guard let pointer = rd_kafka_new(type, configuration, &errorBuffer, errorBuffer.count) else {
            rd_kafka_conf_destroy(configuration)
            let reason = String(errorBuffer: errorBuffer)
            throw KafkaError("could not create Kafka client: \(reason)")
        }
        self.pointer = pointer
    }

    deinit {
        rd_kafka_destroy(pointer)
    }
}
