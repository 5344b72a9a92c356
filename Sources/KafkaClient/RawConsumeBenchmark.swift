import CKafka
import ChatfnCore
import Foundation

/// The benchmarks' reference: a bare librdkafka consumer reading every record of a topic, with no
/// processing, on the same broker as the lane benchmark.
package enum RawConsumeBenchmark {
    package static func recordsPerSecond(bootstrap: String, topic: String, partitions: Int32, expected: Int) throws -> Double {
        let conf = rd_kafka_conf_new()
        var errorBuffer = [CChar](repeating: 0, count: 512)
        let settings = ["bootstrap.servers": bootstrap, "group.id": "raw-\(UUID().uuidString)", "enable.auto.commit": "false",
                        "fetch.wait.max.ms": "100"]
        for (key, value) in settings { rd_kafka_conf_set(conf, key, value, &errorBuffer, errorBuffer.count) }
        guard let consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &errorBuffer, errorBuffer.count) else {
            throw KafkaError("raw consumer: \(String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
        }
        defer { rd_kafka_destroy(consumer) }
        let assignment = rd_kafka_topic_partition_list_new(partitions)
        for partition in 0..<partitions {
            rd_kafka_topic_partition_list_add(assignment, topic, partition)?.pointee.offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
        }
        rd_kafka_assign(consumer, assignment)
        rd_kafka_topic_partition_list_destroy(assignment)
        var received = 0
        var first: ContinuousClock.Instant?
        let deadline = ContinuousClock.now + .seconds(120)
        while received < expected, ContinuousClock.now < deadline {
            guard let message = rd_kafka_consumer_poll(consumer, 100) else { continue }
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                if first == nil { first = .now }
                received += 1
            }
            rd_kafka_message_destroy(message)
        }
        rd_kafka_consumer_close(consumer)
        guard let first, received == expected else { throw KafkaError("raw consumer read \(received) of \(expected)") }
        return Double(received) / (ContinuousClock.now - first).fractionalSeconds
    }
}
