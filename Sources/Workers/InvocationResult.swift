import ChatfnCore

/// How an invocation ended.
public enum InvocationStatus: String, Sendable, Codable, CaseIterable {
    case succeeded
    /// The function threw or its promise rejected, or it could not be loaded.
    case failed
    case timeout
    /// The worker process died while the invocation was in flight, or the function went over its
    /// memory limit.
    case crashed
    /// The event data could not be decoded (not JSON): running it again will not help.
    case invalidEvent = "invalid_event"
}

/// What a function threw, as the worker described it.
public struct InvocationError: Sendable, Codable, Hashable {
    public var name: String?
    public var message: String
    public var stack: String?
    /// Set when the function called `context.deny(reason, userMessage)`: what the end user may be shown.
    public var userMessage: String?

    /// Message and stack cut to ``WorkerLimits``: they end up in headers and log lines.
    var bounded: InvocationError {
        var error = self
        error.message = message.truncated(toUTF8Bytes: WorkerLimits.maxErrorMessageBytes)
        error.stack = stack?.truncated(toUTF8Bytes: WorkerLimits.maxStackBytes)
        error.userMessage = userMessage?.truncated(toUTF8Bytes: WorkerLimits.maxErrorMessageBytes)
        return error
    }

    /// The process serving the invocation died, or could not be reached.
    static func workerCrashed(_ message: String) -> InvocationError {
        InvocationError(name: "WorkerCrashed", message: message)
    }

    /// The function or its runtime could not be loaded (syntax error, missing module, no `handleEvent`, a
    /// failing initialization script).
    public var isLoadFailure: Bool { name == "FunctionLoadError" || name == "InitScriptError" }

    public init(name: String? = nil, message: String, stack: String? = nil, userMessage: String? = nil) {
        self.name = name
        self.message = message
        self.stack = stack
        self.userMessage = userMessage
    }
}

/// One line a function logged (through `console` or `context.log`).
public struct InvocationLogLine: Sendable, Hashable {
    public var level: String
    public var message: String

    public init(level: String, message: String) {
        self.level = level
        self.message = message
    }
}

/// A command a function emitted with `context.emit(type, data, {key})`, for the chat platform.
public struct EmittedCommand: Sendable, Hashable {
    public var type: String
    public var key: String?
    /// The data as JSON (empty when the function passed none).
    public var data: [UInt8]

    public init(type: String, key: String?, data: [UInt8]) {
        self.type = type
        self.key = key
        self.data = data
    }
}

/// The outcome of an ``InvocationRequest``.
public struct InvocationResult: Sendable {
    public var invocationId: String
    public var status: InvocationStatus
    /// The function's return value as JSON, when it returned one.
    public var value: [UInt8]?
    public var error: InvocationError?
    public var logs: [InvocationLogLine]
    /// Commands emitted, in order; to be published only when the invocation succeeded.
    public var emits: [EmittedCommand]
    public var duration: Duration
    /// The invocation waited for a new worker process to start.
    public var coldStart: Bool
    public var workerPid: Int32?

    public init(
        invocationId: String, status: InvocationStatus, value: [UInt8]? = nil, error: InvocationError? = nil,
        logs: [InvocationLogLine] = [], emits: [EmittedCommand] = [], duration: Duration = .zero, coldStart: Bool = false,
        workerPid: Int32? = nil
    ) {
        self.emits = emits
        self.invocationId = invocationId
        self.status = status
        self.value = value
        self.error = error
        self.logs = logs
        self.duration = duration
        self.coldStart = coldStart
        self.workerPid = workerPid
    }
}
