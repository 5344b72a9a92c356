/// How the event's bytes are laid out for the worker to decode.
public enum EventEncoding: String, Sendable, Codable {
    /// The bytes are the event's JSON data.
    case binary
    /// The bytes are a structured CloudEvent envelope; the worker takes `data` (or `data_base64`).
    case structured
}

/// One run of one chat function on one event. The event stays bytes until the Node worker parses it.
public struct InvocationRequest: Sendable {
    public var invocationId: String
    public var functionFile: String
    /// Changes whenever the function's code does, so workers reload it.
    public var functionVersion: String
    public var trigger: String
    public var eventId: String
    public var appId: String
    public var source: String
    public var time: String?
    public var attempt: Int
    public var timeout: Duration
    public var encoding: EventEncoding
    public var payload: [UInt8]
    /// The runtime's initialization script, run once per worker process (and version) before this.
    public var initScript: String?
    public var initScriptVersion: String?
    /// Whether `context.emit` works: not for blocking functions, whose answer is their decision.
    public var allowsEmit = true

    public init(
        invocationId: String, functionFile: String, functionVersion: String, trigger: String, eventId: String,
        appId: String, source: String = "", time: String? = nil, attempt: Int = 1, timeout: Duration = .seconds(30),
        encoding: EventEncoding = .binary, payload: [UInt8]
    ) {
        self.invocationId = invocationId
        self.functionFile = functionFile
        self.functionVersion = functionVersion
        self.trigger = trigger
        self.eventId = eventId
        self.appId = appId
        self.source = source
        self.time = time
        self.attempt = attempt
        self.timeout = timeout
        self.encoding = encoding
        self.payload = payload
    }
}
