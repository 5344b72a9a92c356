/// Where the non-blocking lane publishes what it produces besides function side effects.
public struct OutputTopics: Sendable, Hashable {
    public var deadLetters: String
    public var invocations: String
    public var commands: String

    public init(deadLetters: String = "chatfn.dlq", invocations: String = "chatfn.invocations", commands: String = "chatfn.commands") {
        self.deadLetters = deadLetters
        self.invocations = invocations
        self.commands = commands
    }

    public var all: [String] { [deadLetters, invocations, commands] }
}

/// How the dispatcher treats the events of one application.
public struct DispatcherConfiguration: Sendable {
    public var appId: String
    public var outputs: OutputTopics
    /// Records above this size are dead-lettered without running.
    public var maxRecordBytes: Int
    /// Publish one record per invocation to `outputs.invocations`.
    public var publishInvocationRecords: Bool

    public init(appId: String = "default", outputs: OutputTopics = OutputTopics(), maxRecordBytes: Int = 1_048_576,
                publishInvocationRecords: Bool = true) {
        self.appId = appId
        self.outputs = outputs
        self.maxRecordBytes = maxRecordBytes
        self.publishInvocationRecords = publishInvocationRecords
    }
}

/// What became of a record.
public enum RecordOutcome: Sendable, Hashable {
    /// Done with: its function ran (to success or to the dead-letter topic), or it was skipped. Commit it.
    case processed
    /// Given up while stopping: do not commit; its next owner runs it.
    case abandoned
}
