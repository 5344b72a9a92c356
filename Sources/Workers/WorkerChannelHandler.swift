import ChatfnCore
import NIOCore

/// Hands decoded frames from a worker's reply pipe to its ``InvocationTable``.
final class WorkerChannelHandler: ChannelInboundHandler {
    typealias InboundIn = WorkerMessage

    private let table: InvocationTable

    init(table: InvocationTable) {
        self.table = table
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        table.receive(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        table.close(reason: "closed its protocol pipe")
        // A harness that closed its pipe is exiting: killed only if it is still there 2 s later.
        let table = table
        context.eventLoop.scheduleTask(in: .seconds(2)) { table.killProcess() }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        table.close(reason: "broke the worker protocol (\(error))")
        table.killProcess()
        context.close(promise: nil)
    }
}

/// Reads what a worker writes on its stdout and stderr, line by line, as output that belongs to no
/// invocation: escaped and bounded like it (``InvocationTable``), never written to chatfn's own output.
final class WorkerOutputHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let table: InvocationTable
    private var pending = ByteBuffer()

    init(table: InvocationTable) {
        self.table = table
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        pending.writeBuffer(&chunk)
        while let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - pending.readerIndex
            emit(pending.readString(length: length) ?? "")
            pending.moveReaderIndex(forwardBy: 1)
        }
        if pending.readableBytes > WorkerLimits.maxLogLineBytes {  // a line without end: cut it
            emit(pending.readString(length: pending.readableBytes) ?? "")
        }
        pending.discardReadBytes()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if pending.readableBytes > 0 { emit(pending.readString(length: pending.readableBytes) ?? "") }
        context.fireChannelInactive()
    }

    private func emit(_ line: String) {
        table.receive(.log(invocationId: nil, InvocationLogLine(level: "error", message: line.truncated(toUTF8Bytes: WorkerLimits.maxLogLineBytes))))
    }
}
