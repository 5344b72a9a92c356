import ChatfnCore
import Foundation
import NIOCore
import NIOFoundationCompat

/// Splits the worker's reply stream into ``WorkerMessage``s.
struct WireFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = WorkerMessage

    struct ProtocolViolation: Error, CustomStringConvertible {
        var description: String
    }

    private static let levels = ["debug", "info", "warn", "error"]
    private static let statuses: [InvocationStatus] = [.succeeded, .failed, .invalidEvent, .crashed]

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard length >= 3, Int(length) <= WorkerLimits.maxFrameBytes else {
            throw ProtocolViolation(description: "worker sent a frame of \(length) bytes")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        guard var frame = buffer.readSlice(length: Int(length)) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(try Self.message(from: &frame)))
        return .continue
    }

    static func message(from frame: inout ByteBuffer) throws -> WorkerMessage {
        guard let kindByte = frame.readInteger(as: UInt8.self), let kind = WireFrame.Kind(rawValue: kindByte),
              let idLength = frame.readInteger(as: UInt16.self), let id = frame.readString(length: Int(idLength))
        else { throw ProtocolViolation(description: "worker sent a malformed frame") }
        switch kind {
        case .ready:
            return .ready
        case .log:
            guard let level = frame.readInteger(as: UInt8.self) else { throw ProtocolViolation(description: "truncated log frame") }
            let line = InvocationLogLine(level: levels[Int(min(level, 3))], message: (frame.readString(length: frame.readableBytes) ?? "").truncated(toUTF8Bytes: WorkerLimits.maxLogLineBytes))
            return .log(invocationId: id.isEmpty ? nil : id, line)
        case .emit:
            guard let typeLength = frame.readInteger(as: UInt16.self), let type = frame.readString(length: Int(typeLength)),
                  let keyLength = frame.readInteger(as: Int32.self)
            else { throw ProtocolViolation(description: "truncated emit frame") }
            let key = keyLength >= 0 ? frame.readString(length: Int(keyLength)) : nil
            return .emit(invocationId: id, EmittedCommand(type: type, key: key, data: Array(frame.readableBytesView)))
        case .result:
            guard let statusByte = frame.readInteger(as: UInt8.self), Int(statusByte) < statuses.count,
                  let errorLength = frame.readInteger(as: UInt32.self), let errorJSON = frame.readSlice(length: Int(errorLength))
            else { throw ProtocolViolation(description: "truncated result frame") }
            let error = errorLength > 0 ? (try? JSONDecoder().decode(InvocationError.self, from: errorJSON))?.bounded : nil
            let value = frame.readableBytes > 0 ? Array(frame.readableBytesView) : nil
            return .result(invocationId: id, status: statuses[Int(statusByte)], error: error, value: value)
        case .pong:
            return .pong(probeId: id)
        case .apiRequest:
            guard let number = frame.readInteger(as: UInt32.self), let methodLength = frame.readInteger(as: UInt8.self),
                  let method = frame.readString(length: Int(methodLength)), let pathLength = frame.readInteger(as: UInt16.self),
                  let path = frame.readString(length: Int(pathLength))
            else { throw ProtocolViolation(description: "truncated api frame") }
            return .apiRequest(invocationId: id, PlatformRequest(number: number, method: method, path: path, body: Array(frame.readableBytesView)))
        case .invoke, .ping, .configure, .apiResponse:
            throw ProtocolViolation(description: "worker sent a request frame")
        }
    }
}
