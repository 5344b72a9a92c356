/// A deployed chat function: the file that holds it and a version that changes with its code.
public struct FunctionDefinition: Sendable, Hashable {
    /// The trigger it runs for, e.g. `user.received.notification`.
    public var trigger: String
    public var file: String
    /// A hash of the file's content; workers reload the function when it changes.
    public var version: String

    public init(trigger: String, file: String, version: String) {
        self.trigger = trigger
        self.file = file
        self.version = version
    }
}
