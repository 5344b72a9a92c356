/// A record to publish. `partition` nil lets librdkafka's partitioner choose by key.
package struct ProducerRecord: Sendable {
    package var topic: String
    package var partition: Int32?
    package var key: [UInt8]?
    package var value: [UInt8]
    package var headers: [KafkaHeader]
    /// The record's CreateTime in epoch milliseconds; nil: now.
    package var timestampMs: Int64?
    /// A null value: on a compacted topic, deletes the key (`value` is ignored).
    package var isTombstone = false

    package init(topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// A record with a null value: on a compacted topic it deletes `key`.
    package static func tombstone(topic: String, key: [UInt8]) -> ProducerRecord {
        var record = ProducerRecord(topic: topic, key: key, value: [])
        record.isTombstone = true
        return record
    }
}

/// Where the broker stored a produced record.
public struct DeliveryReceipt: Sendable, Hashable {
    public var partition: Int32
    public var offset: Int64
}
