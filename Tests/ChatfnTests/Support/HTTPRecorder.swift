import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An HTTP server on 127.0.0.1 that answers every request 200 and keeps each request body, in arrival
/// order: the side effect through which tests watch functions run.
final class HTTPRecorder: Sendable {
    let port: Int
    private let channel: any Channel
    private let bodies = Mutex<[[UInt8]]>([])

    var url: String { "http://127.0.0.1:\(port)/record" }

    private init(channel: any Channel) {
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
    }

    static func start() async throws -> HTTPRecorder {
        let box = RecorderBox()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(RecordingHandler(box: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        let recorder = HTTPRecorder(channel: channel)
        box.recorder.withLock { $0 = recorder }
        return recorder
    }

    func record(_ body: [UInt8]) {
        bodies.withLock { $0.append(body) }
    }

    /// The bodies received so far, parsed as JSON objects.
    func received() -> [[String: any Sendable]] {
        bodies.withLock { $0 }.compactMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: any Sendable] }
    }

    /// Waits until at least `count` bodies arrived, or fails after `timeout`.
    func waitForCount(_ count: Int, timeout: Duration = .seconds(60)) async throws -> [[String: any Sendable]] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if bodies.withLock({ $0.count }) >= count { return received() }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("expected \(count) requests, got \(bodies.withLock { $0.count }) within \(timeout)")
    }

    func shutdown() async {
        try? await channel.close()
    }
}

/// Lets the pipeline's handlers reach the recorder created after the server is bound.
final class RecorderBox: Sendable {
    let recorder = Mutex<HTTPRecorder?>(nil)
}

private final class RecordingHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let box: RecorderBox
    private var body: [UInt8] = []

    init(box: RecorderBox) {
        self.box = box
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            body = []
        case .body(let buffer):
            body += buffer.readableBytesView
        case .end:
            box.recorder.withLock { $0?.record(body) }
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: "2")
            headers.add(name: "content-type", value: "text/plain")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "ok")))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
