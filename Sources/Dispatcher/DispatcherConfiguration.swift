import KafkaClient
import ChatEvents
import Functions
/// Where the non-blocking lane publishes what it produces besides function side effects.
package struct OutputTopics: Sendable, Hashable {
    package var deadLetters: String
    package var invocations: String
    package var commands: String

    package init(deadLetters: String = "chatfn.dlq", invocations: String = "chatfn.invocations", commands: String = "chatfn.commands") {
        self.deadLetters = deadLetters
        self.invocations = invocations
        self.commands = commands
    }

    package var all: [String] { [deadLetters, invocations, commands] }
}

/// How the dispatcher treats events.
package struct DispatcherConfiguration: Sendable {
    package var outputs: OutputTopics
    /// Records above this size are dead-lettered without running.
    package var maxRecordBytes: Int
    /// Publish one record per invocation to `outputs.invocations`.
    package var publishInvocationRecords: Bool

    package init(outputs: OutputTopics = OutputTopics(), maxRecordBytes: Int = 1_048_576, publishInvocationRecords: Bool = true) {
        self.outputs = outputs
        self.maxRecordBytes = maxRecordBytes
        self.publishInvocationRecords = publishInvocationRecords
    }
}

/// What became of a record.
package enum RecordOutcome: Sendable, Hashable {
    /// Done with: its function ran (to success or to the dead-letter topic), or it was skipped. Commit it.
    case processed
    /// Given up while stopping: do not commit; its next owner runs it.
    case abandoned
}
