import Synchronization
import Tracing

/// One invocation's place in a distributed trace. With a tracer bootstrapped (chatfn does when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is set) it is a span, child of the event's `traceparent` or a new root,
/// and its own `traceparent` goes to the function and on every record the invocation leads to. Without
/// one, nothing is recorded and the event's `traceparent` is passed on as it came.
package struct InvocationTrace: Sendable {
    /// What the function gets as `context.traceparent`, and records carry as `ce_traceparent`.
    package let traceparent: String?
    private let span: (any Span)?

    /// Whether spans are recorded (a tracer was bootstrapped).
    package static var isRecording: Bool { recording.load(ordering: .relaxed) }

    /// Marks the tracer bootstrapped into `InstrumentationSystem` as the one spans go to.
    package static func startRecording() {
        recording.store(true, ordering: .relaxed)
    }

    private static let recording = Atomic(false)

    /// - Parameter parent: the event's `traceparent`, already validated.
    /// - Parameter attributes: evaluated only when spans are recorded.
    package static func begin(_ name: String, parent: String?, attributes: @autoclosure () -> [String: String]) -> InvocationTrace {
        guard isRecording else { return InvocationTrace(traceparent: parent, span: nil) }
        var context = ServiceContext.topLevel
        if let parent { InstrumentationSystem.instrument.extract(["traceparent": parent], into: &context, using: HeaderExtractor()) }
        let span = InstrumentationSystem.tracer.startSpan(name, context: context, ofKind: .consumer)
        for (key, value) in attributes() { span.attributes[key] = value }
        var carrier: [String: String] = [:]
        InstrumentationSystem.instrument.inject(span.context, into: &carrier, using: HeaderInjector())
        return InvocationTrace(traceparent: carrier["traceparent"] ?? parent, span: span)
    }

    /// Ends the span with the invocation's status (an error status unless it succeeded).
    package func end(status: String, succeeded: Bool, message: String? = nil) {
        guard let span else { return }
        span.attributes["chatfn.status"] = status
        if !succeeded { span.setStatus(SpanStatus(code: .error, message: message)) }
        span.end()
    }
}

private struct HeaderExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

private struct HeaderInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}
