import CKafka

/// An error reported by librdkafka or by chatfn's Kafka layer, with a message meant for a person.
package struct KafkaError: Error, CustomStringConvertible, Sendable {
    /// librdkafka's error code, when the error came from librdkafka.
    package let code: Int32?
    package let message: String

    package init(_ message: String, code: Int32? = nil) {
        self.message = message
        self.code = code
    }

    init(_ context: String, rdError: rd_kafka_resp_err_t) {
        self.code = rdError.rawValue
        self.message = "\(context): \(String(cString: rd_kafka_err2str(rdError)))"
    }

    /// Takes ownership of an `rd_kafka_error_t` and destroys it.
    init(_ context: String, consuming error: OpaquePointer) {
        self.code = rd_kafka_error_code(error).rawValue
        self.message = "\(context): \(String(cString: rd_kafka_error_string(error)))"
        rd_kafka_error_destroy(error)
    }

    package var description: String { message }

    /// The record is refused for what it is (too large, invalid, not allowed, addressed to a topic or
    /// partition that does not exist): sending it again unchanged cannot succeed, unlike errors of a
    /// broker that is away, which pass.
    package var refusesRecord: Bool {
        guard let code else { return false }
        return Self.refusals.contains(code)
    }

    /// The record is above the client's `message.max.bytes` or the broker's limit.
    package var isRecordTooLarge: Bool {
        code == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue || code == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE.rawValue
    }

    private static let refusals: Set<Int32> = Set([
        RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE, RD_KAFKA_RESP_ERR_INVALID_MSG,
        RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE, RD_KAFKA_RESP_ERR_INVALID_RECORD, RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION,
        RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION, RD_KAFKA_RESP_ERR__INVALID_ARG,
        RD_KAFKA_RESP_ERR__BAD_MSG,
    ].map(\.rawValue))
}

extension String {
    /// Reads the message librdkafka wrote into an error buffer.
    init(errorBuffer: [CChar]) {
        self.init(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
