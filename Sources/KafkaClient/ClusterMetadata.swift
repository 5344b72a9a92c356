import CKafka

/// What the cluster says about its topics.
enum ClusterMetadata {
    /// Every topic the cluster has, with its partition count.
    static func topics(_ handle: OpaquePointer, timeoutMs: Int32) throws -> [String: Int32] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let result = rd_kafka_metadata(handle, 1, nil, &metadata, timeoutMs)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError("could not read topic metadata", rdError: result)
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        let topics = UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
        return Dictionary(
            topics.filter { $0.err == RD_KAFKA_RESP_ERR_NO_ERROR }.map { (String(cString: $0.topic), $0.partition_cnt) },
            uniquingKeysWith: { first, _ in first })
    }

    /// The first offset a partition still holds and the next offset to be written (the high watermark);
    /// blocks up to 10 s.
    static func watermarks(_ handle: OpaquePointer, of partition: TopicPartition) throws -> (low: Int64, high: Int64) {
        var low: Int64 = 0
        var high: Int64 = 0
        let result = rd_kafka_query_watermark_offsets(handle, partition.topic, partition.partition, &low, &high, 10_000)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("could not read the offsets of \(partition)", rdError: result) }
        return (low, high)
    }
}
