import EventConsumer

/// What blocking triggers decide when their function cannot: ChatKitty's sign-in hook fails closed; the
/// moderation hook fails open, so a broken moderator does not silence a chat.
public enum BlockingTriggers {
    public static let startSession = "user.attempted.start_session"
    public static let sendMessage = "user.attempted.send_message"

    /// Triggers answered over the request/reply topics: ChatKitty's `user.attempted.*` hooks, where the
    /// chat platform waits for a decision. Every other trigger belongs to the events topic.
    public static func isBlocking(_ trigger: String) -> Bool {
        trigger.hasPrefix("user.attempted.")
    }

    /// The default timeout of a blocking function: a user is waiting.
    public static let defaultTimeout: Duration = .seconds(3)

    public static func onFailure(_ trigger: String, _ settings: FunctionSettings) -> Decision.Verdict {
        settings.onFailure ?? (trigger == sendMessage ? .allow : .deny)
    }

    public static func onMissing(_ settings: FunctionSettings) -> Decision.Verdict {
        settings.onMissing ?? .allow
    }
}
