import EventConsumer

/// What blocking triggers decide when their function cannot: ChatKitty's sign-in hook fails closed; the
/// moderation hook fails open, so a broken moderator does not silence a chat.
public enum BlockingTriggers {
    public static let startSession = "user.attempted.start_session"
    public static let sendMessage = "user.attempted.send_message"

    /// The default timeout of a blocking function: a user is waiting.
    public static let defaultTimeout: Duration = .seconds(3)

    public static func onFailure(_ trigger: String, _ settings: FunctionSettings) -> Decision.Verdict {
        settings.onFailure ?? (trigger == sendMessage ? .allow : .deny)
    }

    public static func onMissing(_ settings: FunctionSettings) -> Decision.Verdict {
        settings.onMissing ?? .allow
    }
}
