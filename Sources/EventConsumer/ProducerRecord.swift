/// A record to publish. `partition` nil lets librdkafka's partitioner choose by key.
public struct ProducerRecord: Sendable {
    public var topic: String
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// The record's CreateTime in epoch milliseconds; nil: now.
    public var timestampMs: Int64?

    public init(topic: String, partition: Int32? = nil, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = []) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// Where the broker stored a produced record.
public struct DeliveryReceipt: Sendable, Hashable {
    public var partition: Int32
    public var offset: Int64
}
