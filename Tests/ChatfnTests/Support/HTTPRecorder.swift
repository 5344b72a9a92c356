import Foundation
import Synchronization

/// An HTTP server on 127.0.0.1 that answers every request 200 and keeps each request body, in arrival
/// order: the side effect through which tests watch functions run.
final class HTTPRecorder: Sendable {
    private final class Bodies: Sendable {
        let list = Mutex<[[UInt8]]>([])
    }

    private let server: TestHTTPServer
    private let bodies: Bodies

    var url: String { "\(server.baseURL)/record" }
    /// The server's root, for clients that add paths of their own (an OTLP exporter posts to /v1/traces).
    var baseURL: String { server.baseURL }

    private init(server: TestHTTPServer, bodies: Bodies) {
        self.server = server
        self.bodies = bodies
    }

    static func start() async throws -> HTTPRecorder {
        let bodies = Bodies()
        let server = try await TestHTTPServer.start { request in
            bodies.list.withLock { $0.append(request.body) }
            return (.ok, "text/plain", Array("ok".utf8))
        }
        return HTTPRecorder(server: server, bodies: bodies)
    }

    /// The bodies received so far, parsed as JSON objects.
    func received() -> [[String: any Sendable]] {
        bodies.list.withLock { $0 }.compactMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: any Sendable] }
    }

    /// Waits until at least `count` bodies arrived, or fails after `timeout`.
    func waitForCount(_ count: Int, timeout: Duration = .seconds(60)) async throws -> [[String: any Sendable]] {
        try await eventually("\(count) requests to the recorder", timeout: timeout) { self.bodies.list.withLock { $0.count } >= count }
        return received()
    }

    func shutdown() async {
        await server.shutdown()
    }
}
