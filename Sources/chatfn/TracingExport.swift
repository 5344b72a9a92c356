import ChatfnCore
import Foundation
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// Spans of invocations exported over OTLP/HTTP (swift-otel) when `OTEL_EXPORTER_OTLP_ENDPOINT` or
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, configured by the other standard `OTEL_*` variables
/// (`OTEL_EXPORTER_OTLP_PROTOCOL`: http/protobuf or http/json; `OTEL_SERVICE_NAME`, sampling, …).
/// Without them no tracer is bootstrapped: invocations record nothing and pass `traceparent` on as it came.
/// - Returns: the exporter's service, to run first in the service group (it stops last, flushing spans).
func bootstrapTracing(logger: Logger) throws -> (any Service)? {
    let environment = ProcessInfo.processInfo.environment
    guard ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].contains(where: { !(environment[$0] ?? "").isEmpty }) else {
        return nil
    }
    var configuration = OTel.Configuration.default
    configuration.serviceName = "chatfn"
    configuration.traces.enabled = true
    configuration.traces.otlpExporter.protocol = .httpProtobuf
    configuration.metrics.enabled = false  // metrics go to Prometheus (/metrics)
    configuration.logs.enabled = false
    // swift-otel's own messages through chatfn's logging, warnings and up: at info it prints every OTEL_*
    // variable with its value (OTEL_EXPORTER_OTLP_HEADERS holds credentials).
    configuration.diagnosticLogger = .custom(logger)
    configuration.diagnosticLogLevel = .warning
    let (tracer, service) = try OTel.makeTracingBackend(configuration: configuration)
    InstrumentationSystem.bootstrap(tracer)
    InvocationTrace.startRecording()
    logger.info("exporting invocation spans over OTLP/HTTP")
    return service
}
