import KafkaClient
import ChatEvents
import Functions
import Workers

/// Why an event went to the dead-letter topic instead of (or after) running.
package enum DeadLetterReason: Sendable, Hashable, CustomStringConvertible {
    /// Not a CloudEvent chatfn can read.
    case malformed(String)
    /// The event names an application this chatfn does not serve.
    case unknownApplication(String)
    /// The application exists but cannot be started (its secrets do not open, its directory cannot be
    /// written): replay the event once it is fixed.
    case applicationUnavailable(application: String, reason: String)
    /// A blocking trigger on the events topic, or a non-blocking one on the request topic.
    case wrongLane(trigger: String, topic: String)
    /// The record is larger than chatfn accepts.
    case tooLarge(bytes: Int, limit: Int)
    /// The event data is not JSON.
    case invalidEvent(String)
    /// The last attempt failed.
    case exhausted(status: InvocationStatus, attempts: Int, message: String)
    /// The event grew older than the function's `maxEventAgeMs` while retrying.
    case expired(status: InvocationStatus, attempts: Int, message: String)

    /// A stable code for the `chatfn_dlq_reason` header.
    package var code: String {
        switch self {
        case .malformed: "malformed"
        case .unknownApplication: "unknown_application"
        case .applicationUnavailable: "application_unavailable"
        case .wrongLane: "wrong_lane"
        case .tooLarge: "too_large"
        case .invalidEvent: "invalid_event"
        case .exhausted: "attempts_exhausted"
        case .expired: "max_event_age"
        }
    }

    package var status: String {
        switch self {
        case .exhausted(let status, _, _), .expired(let status, _, _): status.rawValue
        case .invalidEvent: InvocationStatus.invalidEvent.rawValue
        default: "rejected"
        }
    }

    package var attempts: Int {
        switch self {
        case .exhausted(_, let attempts, _), .expired(_, let attempts, _): attempts
        case .invalidEvent: 1
        default: 0
        }
    }

    package var description: String {
        switch self {
        case .malformed(let reason): "malformed event: \(reason)"
        case .unknownApplication(let appId): "unknown application \(appId)"
        case .applicationUnavailable(let application, let reason): "application \(application) cannot be served: \(reason)"
        case .wrongLane(let trigger, let topic):
            BlockingTriggers.isBlocking(trigger)
                ? "\(trigger) is a blocking trigger: send it as a request (docs/protocol.md), not to \(topic)"
                : "\(trigger) is not a blocking trigger: publish it to the events topic, not to \(topic)"
        case .tooLarge(let bytes, let limit): "record of \(bytes) bytes is above the \(limit)-byte limit"
        case .invalidEvent(let reason): reason
        case .exhausted(let status, let attempts, let message): "\(status.rawValue) after \(attempts) attempt(s): \(message)"
        case .expired(let status, let attempts, let message): "past maxEventAgeMs after \(attempts) attempt(s), last \(status.rawValue): \(message)"
        }
    }
}
