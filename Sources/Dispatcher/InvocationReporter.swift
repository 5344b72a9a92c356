import EventConsumer
import Workers

/// One finished invocation of a function for a consumed event.
public struct InvocationReport: Sendable {
    public var attributes: CloudEventAttributes
    public var function: FunctionDefinition
    public var position: RecordPosition
    public var result: InvocationResult
}

/// Why a consumed record ran no function.
public enum SkipReason: Sendable, Hashable, CustomStringConvertible {
    /// The record is not a CloudEvent chatfn can read.
    case malformed(String)
    /// The event names an application this chatfn does not serve.
    case unknownApplication(String)
    /// No function is deployed for the event's trigger: not an error.
    case noFunction(trigger: String)

    public var description: String {
        switch self {
        case .malformed(let reason): "malformed event: \(reason)"
        case .unknownApplication(let appId): "unknown application \(appId)"
        case .noFunction(let trigger): "no function deployed for \(trigger)"
        }
    }
}

/// Where the dispatcher tells what it did with each record.
public protocol InvocationReporter: Sendable {
    func invocationFinished(_ report: InvocationReport)
    func recordSkipped(_ position: RecordPosition, eventId: String?, reason: SkipReason)
}
