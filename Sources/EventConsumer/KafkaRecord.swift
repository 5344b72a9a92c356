/// Where a consumed record sits: enough to store its offset once it has been processed.
public struct RecordPosition: Sendable, Hashable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    public var description: String { "\(topic)/\(partition)@\(offset)" }
}

/// A record consumed from Kafka. Key and value stay bytes: chatfn decodes only what routing needs.
public struct KafkaRecord: Sendable {
    public var position: RecordPosition
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// Milliseconds since the epoch, when the broker reported a timestamp.
    public var timestampMs: Int64?
    /// Which assignment of its partition delivered this record (see ``KafkaConsumer/markProcessed(_:)``).
    var assignmentGeneration: UInt64 = 0

    public init(position: RecordPosition, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader], timestampMs: Int64?) {
        self.position = position
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMs = timestampMs
    }

    public var topic: String { position.topic }
    public var partition: Int32 { position.partition }
    public var offset: Int64 { position.offset }
}
