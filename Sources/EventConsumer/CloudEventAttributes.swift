/// The CloudEvents 1.0 context attributes chatfn routes by; the event data itself stays bytes.
public struct CloudEventAttributes: Sendable, Hashable {
    public var id: String
    /// The trigger, e.g. `user.received.notification`.
    public var type: String
    public var source: String
    public var specVersion: String
    public var time: String?
    /// The `appid` extension attribute: the application the event belongs to (`default` when absent).
    public var appId: String

    public static let defaultAppId = "default"

    public init(id: String, type: String, source: String, time: String? = nil, appId: String = defaultAppId) {
        self.id = id
        self.type = type
        self.source = source
        self.specVersion = "1.0"
        self.time = time
        self.appId = appId
    }
}

/// How a CloudEvent sits in a Kafka record (CloudEvents Kafka protocol binding).
public enum CloudEventContentMode: String, Sendable, Hashable {
    /// Attributes in `ce_*` headers, the data alone as the record value.
    case binary
    /// The whole JSON envelope (`application/cloudevents+json`) as the record value.
    case structured
}

/// Why a record is not a CloudEvent chatfn can route.
public struct CloudEventDecodingError: Error, CustomStringConvertible, Sendable, Hashable {
    public let reason: String
    public var description: String { reason }
}
