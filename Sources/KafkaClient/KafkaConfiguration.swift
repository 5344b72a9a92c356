import CKafka
import Foundation

/// librdkafka client properties (`bootstrap.servers`, `fetch.wait.max.ms`, …) as plain strings.
///
/// chatfn sets what its semantics need (manual offset store, no auto reset surprises) and lets
/// operators override everything else with `extra`.
public struct KafkaConfiguration: Sendable {
    public var properties: [String: String]

    public init(bootstrapServers: String, properties: [String: String] = [:]) {
        self.properties = properties
        self.properties["bootstrap.servers"] = bootstrapServers
    }

    public var bootstrapServers: String { properties["bootstrap.servers"] ?? "" }

    /// Returns a new configuration with `other` layered on top of this one.
    public func merging(_ other: [String: String]) -> KafkaConfiguration {
        var copy = self
        copy.properties.merge(other) { _, new in new }
        return copy
    }

    /// Without the settings only a consumer takes (librdkafka warns about them to a producer or an admin
    /// client): for the producer-type handles built from a configuration shared with consumers.
    var withoutConsumerProperties: KafkaConfiguration {
        var copy = self
        copy.properties = properties.filter { key, _ in !Self.consumerOnlyPrefixes.contains { key.hasPrefix($0) } }
        return copy
    }

    private static let consumerOnlyPrefixes = [
        "fetch.", "group.", "auto.offset.reset", "enable.auto.", "auto.commit.", "partition.assignment.strategy",
        "session.timeout.ms", "heartbeat.interval.ms", "max.poll.interval.ms", "enable.partition.eof", "queued.",
    ]

    /// For a consumer outside any consumer group (it assigns partitions itself and commits nothing).
    func standaloneConsumer(purpose: String, fetchWaitMs: Int) -> KafkaConfiguration {
        merging([
            "group.id": "chatfn-\(purpose)-\(UUID().uuidString)",
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
            "enable.partition.eof": "false",
            "fetch.wait.max.ms": String(fetchWaitMs),
        ])
    }

    /// Checks every property with librdkafka, as a client built from it would: an unknown name or an
    /// invalid value is an error naming it (a secret's value is never shown).
    package func validate() throws {
        rd_kafka_conf_destroy(try makeNativeConfiguration())
    }

    /// Builds an `rd_kafka_conf_t`; the caller owns it until it is handed to `rd_kafka_new`.
    func makeNativeConfiguration() throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else { throw KafkaError("rd_kafka_conf_new failed") }
        rd_kafka_conf_set_log_cb(conf, kafkaLogCallback)
        var errorBuffer = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, key, value, &errorBuffer, errorBuffer.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                var reason = String(errorBuffer: errorBuffer)
                // librdkafka quotes the value it refused.
                if KafkaProperties.isSensitive(key), !value.isEmpty { reason = reason.replacingOccurrences(of: value, with: "(hidden)") }
                throw KafkaError("invalid Kafka property \(KafkaProperties.shown(key, value)): \(reason)\(Self.hint(for: key))")
            }
        }
        KafkaProperties.hide(properties.filter { KafkaProperties.isSensitive($0.key) }.map(\.value))
        return conf
    }

    /// What to use instead of a Java client's property librdkafka does not have.
    private static func hint(for key: String) -> String {
        if key.hasPrefix("ssl.truststore.") || key.hasPrefix("ssl.keystore.") {
            return " (librdkafka reads PEM files: ssl.ca.location, ssl.certificate.location, ssl.key.location; see docs/kafka.md)"
        }
        return ""
    }
}

