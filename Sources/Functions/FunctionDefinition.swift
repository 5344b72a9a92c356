import ChatEvents
import KafkaClient
import EventConsumer
import Workers

/// A deployed chat function: the file that holds it and a version that changes with its code.
package struct FunctionDefinition: Sendable, Hashable {
    /// The trigger it runs for, e.g. `user.received.notification`.
    package var trigger: String
    package var file: String
    /// A hash of the file's content; workers reload the function when it changes.
    package var version: String
    /// The registry's number of this version (its place in the function's history); nil for a function
    /// served from a directory.
    package var versionNumber: Int?
    /// Limits and retry policy from `chatfn.json`.
    package var settings: FunctionSettings
    /// The application's initialization script and its version, if it has one.
    package var initScript: String?
    package var initScriptVersion: String?

    package init(trigger: String, file: String, version: String, settings: FunctionSettings = FunctionSettings()) {
        self.trigger = trigger
        self.file = file
        self.version = version
        self.settings = settings
    }
}

extension FunctionDefinition {
    /// A run of this function (with its runtime's initialization script) on `event`'s data.
    package func invocation(id: String, event: CloudEventAttributes, mode: CloudEventContentMode, attempt: Int, timeout: Duration,
                           payload: [UInt8]) -> InvocationRequest {
        var request = InvocationRequest(
            invocationId: id, functionFile: file, functionVersion: version, trigger: event.type, eventId: event.id,
            appId: event.appId, source: event.source, time: event.time, attempt: attempt, timeout: timeout,
            encoding: mode == .structured ? .structured : .binary, payload: payload)
        request.initScript = initScript
        request.initScriptVersion = initScriptVersion
        request.traceparent = event.traceparent
        return request
    }
}
