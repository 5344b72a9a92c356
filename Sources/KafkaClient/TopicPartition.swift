import CKafka

/// A partition of a topic.
package struct TopicPartition: Sendable, Hashable, CustomStringConvertible {
    package var topic: String
    package var partition: Int32

    package init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    package var description: String { "\(topic)/\(partition)" }

    /// Reads the partitions of an `rd_kafka_topic_partition_list_t`.
    static func list(from pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) -> [TopicPartition] {
        guard let pointer, let elements = pointer.pointee.elems else { return [] }
        return (0..<Int(pointer.pointee.cnt)).map {
            TopicPartition(topic: String(cString: elements[$0].topic), partition: elements[$0].partition)
        }
    }

    /// Builds an `rd_kafka_topic_partition_list_t` (with offsets where given) that the caller destroys.
    static func makeNativeList(_ entries: [(TopicPartition, Int64?)]) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
        let list = rd_kafka_topic_partition_list_new(Int32(entries.count))!
        for (topicPartition, offset) in entries {
            let element = rd_kafka_topic_partition_list_add(list, topicPartition.topic, topicPartition.partition)
            if let offset { element?.pointee.offset = offset }
        }
        return list
    }
}
