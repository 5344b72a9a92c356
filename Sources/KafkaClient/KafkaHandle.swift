import CKafka
import Synchronization

/// Owns one `rd_kafka_t`. librdkafka's client handle is thread-safe for every call chatfn makes on it.
final class KafkaHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    private let destroyOnDeinit = Atomic<Bool>(true)

    /// Creates the client; `configuration` is consumed either way.
    init(type: rd_kafka_type_t, configuration: OpaquePointer) throws {
        var errorBuffer = [CChar](repeating: 0, count: 512)
        guard let pointer = rd_kafka_new(type, configuration, &errorBuffer, errorBuffer.count) else {
            rd_kafka_conf_destroy(configuration)
            let reason = KafkaProperties.redacting(String(errorBuffer: errorBuffer))
            throw KafkaError("could not create Kafka client: \(reason)")
        }
        self.pointer = pointer
    }

    /// Leaves the client undestroyed, for the one case where destroying it would crash (see
    /// ``ConsumerCore/close(_:)``); its memory is reclaimed when the process exits.
    func leakInsteadOfDestroying() {
        destroyOnDeinit.store(false, ordering: .relaxed)
    }

    deinit {
        if destroyOnDeinit.load(ordering: .relaxed) { rd_kafka_destroy(pointer) }
    }
}
