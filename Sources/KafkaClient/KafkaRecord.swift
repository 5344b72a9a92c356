/// Where a consumed record sits: enough to store its offset once it has been processed.
package struct RecordPosition: Sendable, Hashable, CustomStringConvertible {
    package var topic: String
    package var partition: Int32
    package var offset: Int64

    package init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    package var description: String { "\(topic)/\(partition)@\(offset)" }
}

/// A record consumed from Kafka. Key and value stay bytes: chatfn decodes only what routing needs.
package struct KafkaRecord: Sendable {
    package var position: RecordPosition
    package var key: [UInt8]?
    package var value: [UInt8]
    package var headers: [KafkaHeader]
    /// Milliseconds since the epoch, when the broker reported a timestamp.
    package var timestampMs: Int64?
    /// The value is null (`value` is empty): on a compacted topic, the key was deleted.
    package var isTombstone = false

    package init(position: RecordPosition, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader], timestampMs: Int64?) {
        self.position = position
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMs = timestampMs
    }

    package var topic: String { position.topic }
    package var partition: Int32 { position.partition }
    package var offset: Int64 { position.offset }
}
