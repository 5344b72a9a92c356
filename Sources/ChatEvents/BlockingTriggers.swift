/// The triggers a chat platform waits on (ChatKitty's `user.attempted.*` hooks).
package enum BlockingTriggers {
    package static let startSession = "user.attempted.start_session"
    package static let sendMessage = "user.attempted.send_message"

    /// Triggers answered over the request/reply topics: ChatKitty's `user.attempted.*` hooks, where the
    /// chat platform waits for a decision. Every other trigger belongs to the events topic.
    package static func isBlocking(_ trigger: String) -> Bool {
        trigger.hasPrefix("user.attempted.")
    }

    /// The default timeout of a blocking function: a user is waiting.
    package static let defaultTimeout: Duration = .seconds(3)
}
