import ChatfnCore

/// How an invocation ended.
package enum InvocationStatus: String, Sendable, Codable, CaseIterable {
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
package struct InvocationError: Sendable, Codable, Hashable {
    package var name: String?
    package var message: String
    package var stack: String?
    /// Set when the function called `context.deny(reason, userMessage)`: what the end user may be shown.
    package var userMessage: String?

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
    package var isLoadFailure: Bool { name == "FunctionLoadError" || name == "InitScriptError" }

    package init(name: String? = nil, message: String, stack: String? = nil, userMessage: String? = nil) {
        self.name = name
        self.message = message
        self.stack = stack
        self.userMessage = userMessage
    }
}

/// One line a function logged (through `console` or `context.log`).
package struct InvocationLogLine: Sendable, Hashable {
    package var level: String
    package var message: String

    package init(level: String, message: String) {
        self.level = level
        self.message = message
    }
}

/// A command a function emitted with `context.emit(type, data, {key})`, for the chat platform.
package struct EmittedCommand: Sendable, Hashable {
    package var type: String
    package var key: String?
    /// The data as JSON (empty when the function passed none).
    package var data: [UInt8]

    package init(type: String, key: String?, data: [UInt8]) {
        self.type = type
        self.key = key
        self.data = data
    }
}

/// The outcome of an ``InvocationRequest``.
package struct InvocationResult: Sendable {
    package var invocationId: String
    package var status: InvocationStatus
    /// The function's return value as JSON, when it returned one.
    package var value: [UInt8]?
    package var error: InvocationError?
    package var logs: [InvocationLogLine]
    /// Commands emitted, in order; to be published only when the invocation succeeded.
    package var emits: [EmittedCommand]
    package var duration: Duration
    /// The invocation waited for a new worker process to start.
    package var coldStart: Bool
    package var workerPid: Int32?

    package init(
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
