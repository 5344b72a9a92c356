import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One request a ``TestHTTPServer`` received.
struct ReceivedRequest: Sendable {
    var method: String
    var path: String
    var headers: [String: String]
    var body: [UInt8]
}

/// An HTTP/1.1 server on 127.0.0.1 answering every request with `respond`.
final class TestHTTPServer: Sendable {
    typealias Responder = @Sendable (ReceivedRequest) -> (status: HTTPResponseStatus, contentType: String, body: [UInt8])

    private let channel: any Channel
    let port: Int

    private init(channel: any Channel) {
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    static func start(_ respond: @escaping Responder) async throws -> TestHTTPServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ResponderHandler(respond: respond))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestHTTPServer(channel: channel)
    }

    func shutdown() async {
        try? await channel.close()
    }
}

private final class ResponderHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let respond: TestHTTPServer.Responder
    private var request = ReceivedRequest(method: "", path: "", headers: [:], body: [])

    init(respond: @escaping TestHTTPServer.Responder) {
        self.respond = respond
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let path = head.uri.split(separator: "?").first.map(String.init)?.removingPercentEncoding ?? head.uri
            request = ReceivedRequest(method: head.method.rawValue, path: path,
                                      headers: Dictionary(head.headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { $1 }),
                                      body: [])
        case .body(let buffer):
            request.body += buffer.readableBytesView
        case .end:
            let (status, contentType, body) = respond(request)
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: "\(body.count)")
            headers.add(name: "content-type", value: contentType)
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

/// A TCP port free on 127.0.0.1 right now (bound once and released).
func freeLocalPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port ?? 0
    try await channel.close()
    return port
}

/// GETs `url`; returns the status and the body.
func httpGet(_ url: String) async throws -> (Int, String) {
    let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}
