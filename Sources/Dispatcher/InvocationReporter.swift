import Functions
import ChatEvents
import KafkaClient
import EventConsumer
import Workers

/// One finished attempt of a function for a consumed event.
package struct InvocationReport: Sendable {
    package var attributes: CloudEventAttributes
    package var function: FunctionDefinition
    package var position: RecordPosition
    package var attempt: Int
    package var result: InvocationResult
    /// When the invocation failed and will run again: after how long.
    package var retryIn: Duration?
    /// The invocation's `traceparent`, which its records carry.
    package var traceparent: String?
}

/// Where the dispatcher tells what it did with each record.
package protocol InvocationReporter: Sendable {
    func invocationFinished(_ report: InvocationReport)
    /// No function is deployed for the event's trigger: skipped, not an error.
    func recordSkipped(_ position: RecordPosition, eventId: String, trigger: String)
    func recordDeadLettered(_ position: RecordPosition, eventId: String?, reason: DeadLetterReason)
}
