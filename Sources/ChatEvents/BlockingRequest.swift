import KafkaClient
import Foundation

/// The request/reply protocol of blocking triggers (docs/protocol.md): a request is a binary-mode
/// CloudEvent with these headers; the reply goes to `replyTo`/`replyPartition` carrying the correlation id.
package enum BlockingHeaders {
    package static let correlationId = "chatfn_correlation_id"
    package static let replyTo = "chatfn_reply_to"
    /// 4-byte big-endian partition number; absent means partition 0.
    package static let replyPartition = "chatfn_reply_partition"
    /// Epoch milliseconds, as a decimal string.
    package static let deadline = "chatfn_deadline"
}

/// Where a blocking request wants its reply, and by when.
package struct BlockingRequest: Sendable, Hashable {
    package var correlationId: String
    package var replyTo: String
    package var replyPartition: Int32
    /// Epoch milliseconds after which the caller no longer waits.
    package var deadlineMs: Int64

    package init(correlationId: String, replyTo: String, replyPartition: Int32 = 0, deadlineMs: Int64) {
        self.correlationId = correlationId
        self.replyTo = replyTo
        self.replyPartition = replyPartition
        self.deadlineMs = deadlineMs
    }

    /// Reads the request headers of `record`; nil with a reason when they are missing or malformed.
    package static func read(_ record: KafkaRecord) -> Result<BlockingRequest, CloudEventDecodingError> {
        func header(_ name: String) -> String? { record.headers.last(named: name)?.stringValue.flatMap { $0.isEmpty ? nil : $0 } }
        guard let correlationId = header(BlockingHeaders.correlationId) else {
            return .failure(CloudEventDecodingError(reason: "no \(BlockingHeaders.correlationId) header"))
        }
        guard let replyTo = header(BlockingHeaders.replyTo) else {
            return .failure(CloudEventDecodingError(reason: "no \(BlockingHeaders.replyTo) header"))
        }
        guard let deadline = header(BlockingHeaders.deadline).flatMap(Int64.init) else {
            return .failure(CloudEventDecodingError(reason: "no \(BlockingHeaders.deadline) header (epoch milliseconds)"))
        }
        var partition: Int32 = 0
        if let bytes = record.headers.last(named: BlockingHeaders.replyPartition)?.value {
            guard bytes.count == 4 else {
                return .failure(CloudEventDecodingError(reason: "\(BlockingHeaders.replyPartition) must be a 4-byte big-endian integer"))
            }
            partition = bytes.reduce(0) { $0 << 8 | Int32($1) }
            guard partition >= 0 else {
                return .failure(CloudEventDecodingError(reason: "\(BlockingHeaders.replyPartition) must not be negative (got \(partition))"))
            }
        }
        return .success(BlockingRequest(correlationId: correlationId, replyTo: replyTo, replyPartition: partition, deadlineMs: deadline))
    }

    /// The headers that make a CloudEvent record a blocking request.
    package var headers: [KafkaHeader] {
        let partition = UInt32(bitPattern: replyPartition)
        return [
            KafkaHeader(key: BlockingHeaders.correlationId, string: correlationId),
            KafkaHeader(key: BlockingHeaders.replyTo, string: replyTo),
            KafkaHeader(key: BlockingHeaders.replyPartition, value: [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: partition >> $0) }),
            KafkaHeader(key: BlockingHeaders.deadline, string: String(deadlineMs)),
        ]
    }

}
