import KafkaClient

/// How a chatfn consumer joins its group and how much work it hands out at once.
package struct KafkaConsumerConfiguration: Sendable {
    package var kafka: KafkaConfiguration
    package var groupId: String
    package var topics: [String]
    /// Records handed out but not yet committable; at this bound the consumer pauses its partitions,
    /// so memory stays bounded however large the backlog is.
    package var maxInFlight: Int
    /// How long a revoke or a shutdown waits for handed-out records to finish before it commits.
    package var drainTimeout: Duration

    /// `chatfn run`'s `--max-in-flight` unless given.
    package static let defaultMaxInFlight = 1_000

    package init(
        kafka: KafkaConfiguration,
        groupId: String,
        topics: [String],
        maxInFlight: Int = defaultMaxInFlight,
        drainTimeout: Duration = .seconds(30)
    ) {
        self.kafka = kafka
        self.groupId = groupId
        self.topics = topics
        self.maxInFlight = max(1, maxInFlight)
        self.drainTimeout = drainTimeout
    }

    /// librdkafka settings chatfn's delivery guarantees rely on, under the operator's own overrides.
    var effectiveKafka: KafkaConfiguration {
        let required: [String: String] = [
            "group.id": groupId,
            // Offsets are stored by chatfn once a record's function completed, then auto-committed.
            "enable.auto.offset.store": "false",
            "enable.auto.commit": "true",
        ]
        let defaults: [String: String] = [
            "auto.commit.interval.ms": "200",
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "cooperative-sticky",
            "enable.partition.eof": "false",
            "fetch.wait.max.ms": "100",
            "socket.nagle.disable": "true",
            "session.timeout.ms": "10000",
            "heartbeat.interval.ms": "1000",
            // Statistics feed chatfn_consumer_lag.
            "statistics.interval.ms": "5000",
        ]
        return KafkaConfiguration(bootstrapServers: kafka.bootstrapServers, properties: defaults)
            .merging(kafka.properties)
            .merging(required)
    }
}
