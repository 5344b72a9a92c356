/// One Kafka record header. Values are bytes; CloudEvents attributes are UTF-8 strings.
package struct KafkaHeader: Sendable, Hashable {
    package var key: String
    package var value: [UInt8]?

    package init(key: String, value: [UInt8]?) {
        self.key = key
        self.value = value
    }

    package init(key: String, string: String) {
        self.init(key: key, value: Array(string.utf8))
    }

    package var stringValue: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}

extension Array where Element == KafkaHeader {
    /// The last header with `key` (Kafka allows repeats; the last one wins, as in most clients).
    package func last(named key: String) -> KafkaHeader? { last { $0.key == key } }
}
