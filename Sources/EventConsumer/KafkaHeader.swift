/// One Kafka record header. Values are bytes; CloudEvents attributes are UTF-8 strings.
public struct KafkaHeader: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]?

    public init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    public init(key: String, string: String) {
        self.init(key: key, value: Array(string.utf8))
    }

    public var stringValue: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}

extension Array where Element == KafkaHeader {
    /// The last header with `key` (Kafka allows repeats; the last one wins, as in most clients).
    public func last(named key: String) -> KafkaHeader? { last { $0.key == key } }
}
