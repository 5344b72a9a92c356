import Foundation

/// The answer to a blocking request: the reply's JSON value.
///
/// `{"decision": "allow"|"deny", "status": "succeeded"|"failed"|"timeout"|"crashed"|"no_function"|"overloaded"|"rejected",
///   "user": {...}?, "message": {...}?, "reason": "...", "userMessage": "...", "durationMs": n, "functionVersion": "..."}`
public struct Decision: Sendable, Hashable, Codable {
    public enum Verdict: String, Sendable, Hashable, Codable {
        case allow
        case deny
    }

    public var decision: Verdict
    public var status: String
    /// The user profile a start-session function returned.
    public var user: JSONValue?
    /// The replacement message a send-message function returned.
    public var message: JSONValue?
    public var reason: String?
    public var userMessage: String?
    public var durationMs: Double?
    public var functionVersion: String?

    public init(decision: Verdict, status: String, user: JSONValue? = nil, message: JSONValue? = nil, reason: String? = nil,
                userMessage: String? = nil, durationMs: Double? = nil, functionVersion: String? = nil) {
        self.decision = decision
        self.status = status
        self.user = user
        self.message = message
        self.reason = reason
        self.userMessage = userMessage
        self.durationMs = durationMs
        self.functionVersion = functionVersion
    }

    /// The reply's value: JSON with sorted keys, slashes unescaped.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Every member is a string, a number or JSONValue: encoding cannot fail.
        return (try? encoder.encode(self)).map(Array.init) ?? Array(#"{"decision":"deny","status":"failed"}"#.utf8)
    }

    public static func decode(_ bytes: [UInt8]) throws -> Decision {
        do {
            return try JSONDecoder().decode(Decision.self, from: Data(bytes))
        } catch {
            throw DecisionError(description: "the reply is not a chatfn decision: \(error)")
        }
    }
}

/// A reply that cannot be read as a ``Decision``.
public struct DecisionError: Error, CustomStringConvertible, Sendable {
    public let description: String
}
