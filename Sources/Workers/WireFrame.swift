import NIOCore

/// The framing between chatfn and a Node worker (see docs/worker-protocol.md). Every frame is
/// `u32 BE length of the rest | u8 kind | …`:
///
/// - chatfn → worker, `invoke`: `u32 BE header length | header (JSON) | the event bytes`.
/// - worker → chatfn: `u16 BE id length | invocation id (UTF-8, empty: none) | kind-specific fields`,
///   binary so that the hot path decodes no JSON.
///
/// Event data and results travel as raw bytes, never re-encoded inside JSON strings.
enum WireFrame {
    enum Kind: UInt8 {
        case invoke = 1
        /// chatfn → worker: answer at once (header `{id}`); a worker that cannot has a blocked event loop.
        case ping = 2
        /// chatfn → worker, first: `{memoryMb, limits…}`.
        case configure = 3
        /// chatfn → worker: the answer to an `apiRequest`, header `{request, status, pathname, attempts,
        /// error?, invalid?}` and the response body.
        case apiResponse = 4
        /// `{pid, node}` as JSON.
        case ready = 10
        /// `u8 level (0 debug, 1 info, 2 warn, 3 error) | text`.
        case log = 11
        /// `u8 status (0 succeeded, 1 failed, 2 invalid_event) | u32 BE error length | error JSON | value JSON`.
        case result = 12
        /// `u16 BE type length | type | i32 BE key length (-1: none) | key | data JSON`.
        case emit = 13
        /// worker → chatfn: the answer to a `ping` (the id is the ping's).
        case pong = 14
        /// worker → chatfn: `context.api`: `u32 BE request number | u8 method length | method | u16 BE path
        /// length | path | body JSON`.
        case apiRequest = 15
    }

    /// Writes a chatfn → worker frame (`invoke` or `ping`).
    static func writeRequest(_ kind: Kind, header: [UInt8], payload: [UInt8] = [], into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(1 + 4 + header.count + payload.count))
        buffer.writeInteger(kind.rawValue)
        buffer.writeInteger(UInt32(header.count))
        buffer.writeBytes(header)
        buffer.writeBytes(payload)
    }
}

/// A decoded worker → chatfn frame.
enum WorkerMessage {
    case ready
    case log(invocationId: String?, InvocationLogLine)
    case emit(invocationId: String, EmittedCommand)
    case result(invocationId: String, status: InvocationStatus, error: InvocationError?, value: [UInt8]?)
    case pong(probeId: String)
    case apiRequest(invocationId: String, PlatformRequest)
}
