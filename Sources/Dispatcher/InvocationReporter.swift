import EventConsumer
import Workers

/// One finished attempt of a function for a consumed event.
public struct InvocationReport: Sendable {
    public var attributes: CloudEventAttributes
    public var function: FunctionDefinition
    public var position: RecordPosition
    public var attempt: Int
    public var result: InvocationResult
    /// When the invocation failed and will run again: after how long.
    public var retryIn: Duration?
}

/// Where the dispatcher tells what it did with each record.
public protocol InvocationReporter: Sendable {
    func invocationFinished(_ report: InvocationReport)
    /// No function is deployed for the event's trigger: skipped, not an error.
    func recordSkipped(_ position: RecordPosition, eventId: String, trigger: String)
    func recordDeadLettered(_ position: RecordPosition, eventId: String?, reason: DeadLetterReason)
}
