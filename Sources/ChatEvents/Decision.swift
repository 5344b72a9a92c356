import KafkaClient
import ChatfnCore
import Foundation

/// The answer to a blocking request: the reply's JSON value.
///
/// `{"decision": "allow"|"deny", "status": "succeeded"|"failed"|"timeout"|"crashed"|"no_function",
///   "user": {...}?, "message": {...}?, "reason": "...", "userMessage": "...", "durationMs": n, "functionVersion": "..."}`
public struct Decision: Sendable, Hashable {
    public enum Verdict: String, Sendable, Hashable, Decodable {
        case allow
        case deny
    }

    public var decision: Verdict
    public var status: String
    /// The user profile a start-session function returned, as JSON.
    public var user: [UInt8]?
    /// The replacement message a send-message function returned, as JSON.
    public var message: [UInt8]?
    public var reason: String?
    public var userMessage: String?
    public var durationMs: Double?
    public var functionVersion: String?

    public init(decision: Verdict, status: String, user: [UInt8]? = nil, message: [UInt8]? = nil, reason: String? = nil,
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

    public func encoded() -> [UInt8] {
        var json = JSONWriter(capacity: 256)
        json.field("decision", decision.rawValue)
        json.field("status", status)
        if let user { json.field("user", json: user) }
        if let message { json.field("message", json: message) }
        if let reason { json.field("reason", reason) }
        if let userMessage { json.field("userMessage", userMessage) }
        if let durationMs { json.field("durationMs", durationMs) }
        if let functionVersion { json.field("functionVersion", functionVersion) }
        return json.finish()
    }

    public static func decode(_ bytes: [UInt8]) throws -> Decision {
        guard let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let verdict = (object["decision"] as? String).flatMap(Verdict.init(rawValue:)) else {
            throw KafkaError("reply is not a chatfn decision")
        }
        func json(_ key: String) -> [UInt8]? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            return (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys])).map(Array.init)
        }
        return Decision(
            decision: verdict, status: object["status"] as? String ?? "", user: json("user"), message: json("message"),
            reason: object["reason"] as? String, userMessage: object["userMessage"] as? String,
            durationMs: object["durationMs"] as? Double, functionVersion: object["functionVersion"] as? String)
    }
}
