import NIOCore

/// A message between chatfn and a Node worker:
/// `u32 BE length of the rest | u8 kind | u32 BE header length | header (JSON) | body (bytes)`.
///
/// The body carries event data and results untouched, so payloads are never re-encoded as JSON strings.
struct WireFrame {
    enum Kind: UInt8 {
        /// chatfn → worker: run a function (header: ``InvokeHeader``, body: the event bytes).
        case invoke = 1
        /// worker → chatfn: the harness is up (header: pid, Node version).
        case ready = 10
        /// worker → chatfn: a log line (header: invocation id or null, level; body: the text).
        case log = 11
        /// worker → chatfn: an invocation ended (header: id, status, error; body: the returned JSON).
        case result = 12
        /// worker → chatfn: a command the function emitted (header: invocation id, type, key; body: JSON data).
        case emit = 13
    }

    /// Frames above this size are a protocol violation, not an allocation to attempt.
    static let maxLength = 64 * 1024 * 1024

    var kind: UInt8
    var header: ByteBuffer
    var body: ByteBuffer

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(1 + 4 + header.readableBytes + body.readableBytes))
        buffer.writeInteger(kind)
        buffer.writeInteger(UInt32(header.readableBytes))
        buffer.writeImmutableBuffer(header)
        buffer.writeImmutableBuffer(body)
    }
}

/// The header of an ``WireFrame/Kind/invoke`` frame, as the harness reads it.
struct InvokeHeader: Encodable {
    var id: String
    var file: String
    var version: String
    var trigger: String
    var eventId: String
    var appId: String
    var source: String
    var time: String?
    var attempt: Int
    var deadline: Int64
    var mode: EventEncoding
}

struct LogHeader: Decodable {
    var id: String?
    var level: String
}

struct EmitHeader: Decodable {
    var id: String
    var type: String
    var key: String?
}

struct ResultHeader: Decodable {
    var id: String
    var status: InvocationStatus
    var error: InvocationError?
}

struct ReadyHeader: Decodable {
    var pid: Int32
    var node: String
}
