/// A deployed chat function: the file that holds it and a version that changes with its code.
public struct FunctionDefinition: Sendable, Hashable {
    /// The trigger it runs for, e.g. `user.received.notification`.
    public var trigger: String
    public var file: String
    /// A hash of the file's content; workers reload the function when it changes.
    public var version: String
    /// Limits and retry policy from `chatfn.json`.
    public var settings: FunctionSettings

    public init(trigger: String, file: String, version: String, settings: FunctionSettings = FunctionSettings()) {
        self.trigger = trigger
        self.file = file
        self.version = version
        self.settings = settings
    }
}
