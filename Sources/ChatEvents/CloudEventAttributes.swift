import KafkaClient
/// The CloudEvents 1.0 context attributes chatfn routes by; the event data itself stays bytes.
package struct CloudEventAttributes: Sendable, Hashable {
    package var id: String
    /// The trigger, e.g. `user.received.notification`.
    package var type: String
    package var source: String
    package var specVersion: String
    package var time: String?
    /// The `appid` extension attribute: the application the event belongs to (`default` when absent).
    package var appId: String
    /// The distributed-tracing extension (W3C Trace Context `traceparent`), when the producer sent a
    /// well-formed one: the invocation's span is its child.
    package var traceparent: String?

    package static let defaultAppId = "default"

    package init(id: String, type: String, source: String, time: String? = nil, appId: String = defaultAppId, traceparent: String? = nil) {
        self.id = id
        self.type = type
        self.source = source
        self.specVersion = "1.0"
        self.time = time
        self.appId = appId
        self.traceparent = traceparent.flatMap(TraceParent.validated)
    }
}

/// How a CloudEvent sits in a Kafka record (CloudEvents Kafka protocol binding).
package enum CloudEventContentMode: String, Sendable, Hashable {
    /// Attributes in `ce_*` headers, the data alone as the record value.
    case binary
    /// The whole JSON envelope (`application/cloudevents+json`) as the record value.
    case structured
}

/// Why a record is not a CloudEvent chatfn can route.
package struct CloudEventDecodingError: Error, CustomStringConvertible, Sendable, Hashable {
    package let reason: String
    package var description: String { reason }
}
