import CKafka

/// An error reported by librdkafka or by chatfn's Kafka layer, with a message meant for a person.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    /// librdkafka's error code, when the error came from librdkafka.
    public let code: Int32?
    public let message: String

    public init(_ message: String, code: Int32? = nil) {
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

    public var description: String { message }
}

extension String {
    /// Reads the message librdkafka wrote into an error buffer.
    init(errorBuffer: [CChar]) {
        self.init(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
