import ChatfnCore
import CoreMetrics
import Hummingbird
import Prometheus

/// swift-metrics' backend in chatfn's long-running commands: Prometheus, rendered by `/metrics`.
package enum PrometheusExport {
    /// The registry every metric lands in. The first use bootstraps swift-metrics with it: call
    /// ``bootstrap()`` before any metric is made (one made earlier would report nowhere).
    package static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // A function runs for a millisecond or a minute; a blocking request is answered in milliseconds.
        factory.durationHistogramBuckets = [
            "chatfn_invocation_duration_seconds": [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000].map(Duration.milliseconds),
            "chatfn_blocking_request_duration_seconds": [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000].map(Duration.milliseconds),
        ]
        MetricsSystem.bootstrap(factory)
        ChatfnMetrics.registerUnlabelled()
        return registry
    }()

    package static func bootstrap() {
        _ = registry
    }

    /// The `/metrics` response: the exposition text, after `refresh` set the gauges that are read rather
    /// than counted.
    package static func response(refreshing refresh: () -> Void) -> Response {
        refresh()
        ProcessMetrics.refresh()
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
    }
}
