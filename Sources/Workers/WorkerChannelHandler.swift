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
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        table.close(reason: "broke the worker protocol (\(error))")
        context.close(promise: nil)
    }
}
