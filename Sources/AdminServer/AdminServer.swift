import Hummingbird
import Logging
import Synchronization

/// Whether this chatfn instance is ready for traffic: both lanes consuming.
package final class Readiness: Sendable {
    private let lanes = Mutex<Set<String>>([])
    private let expected: Set<String>

    package init(lanes: Set<String>) {
        expected = lanes
    }

    package func markReady(_ lane: String) {
        lanes.withLock { _ = $0.insert(lane) }
    }

    package var isReady: Bool { lanes.withLock { $0.isSuperset(of: expected) } }
}

/// The operators' HTTP endpoints: `/healthz` (the process serves), `/readyz` (both lanes consuming),
/// `/metrics` (Prometheus text, from swift-metrics through swift-prometheus).
package enum AdminServer {
    /// - Parameter refreshMetrics: sets the gauges that are read rather than counted, before each scrape.
    package static func application(
        host: String, port: Int, readiness: Readiness, logger: Logger, refreshMetrics: @escaping @Sendable () -> Void
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("healthz") { _, _ in "ok\n" }
        router.get("readyz") { _, _ -> Response in
            readiness.isReady
                ? Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ready\n")))
                : Response(status: .serviceUnavailable, body: ResponseBody(byteBuffer: ByteBuffer(string: "starting\n")))
        }
        router.get("metrics") { _, _ in PrometheusExport.response(refreshing: refreshMetrics) }
        return Application(router: router, configuration: ApplicationConfiguration(address: .hostname(host, port: port)), logger: logger)
    }
}
