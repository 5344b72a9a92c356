/// How the event's bytes are laid out for the worker to decode.
package enum EventEncoding: String, Sendable, Codable {
    /// The bytes are the event's JSON data.
    case binary
    /// The bytes are a structured CloudEvent envelope; the worker takes `data` (or `data_base64`).
    case structured
}

/// One run of one chat function on one event. The event stays bytes until the Node worker parses it.
package struct InvocationRequest: Sendable {
    package var invocationId: String
    package var functionFile: String
    /// Changes whenever the function's code does, so workers reload it.
    package var functionVersion: String
    package var trigger: String
    package var eventId: String
    package var appId: String
    package var source: String
    package var time: String?
    package var attempt: Int
    package var timeout: Duration
    package var encoding: EventEncoding
    package var payload: [UInt8]
    /// The runtime's initialization script, run once per worker process (and version) before this.
    package var initScript: String?
    package var initScriptVersion: String?
    /// Whether `context.emit` works: not for blocking functions, whose answer is their decision.
    package var allowsEmit = true
    /// The invocation's W3C `traceparent` (`context.traceparent`), when it belongs to a trace.
    package var traceparent: String?

    package init(
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
