import NIOCore

/// Splits the worker's reply stream into ``WireFrame``s.
struct WireFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = WireFrame

    struct ProtocolViolation: Error, CustomStringConvertible {
        var description: String
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return .needMoreData }
        guard length >= 5, Int(length) <= WireFrame.maxLength else {
            throw ProtocolViolation(description: "worker sent a frame of \(length) bytes")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        guard var frame = buffer.readSlice(length: Int(length)),
              let kind = frame.readInteger(as: UInt8.self),
              let headerLength = frame.readInteger(as: UInt32.self),
              let header = frame.readSlice(length: Int(headerLength))
        else { throw ProtocolViolation(description: "worker sent a truncated frame") }
        context.fireChannelRead(wrapInboundOut(WireFrame(kind: kind, header: header, body: frame)))
        return .continue
    }
}
