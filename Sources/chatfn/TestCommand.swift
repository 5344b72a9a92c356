import ChatfnCore
import ArgumentParser
import Dispatcher
import Functions
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Workers

/// `chatfn test`: runs a function once on a sample event, in a real worker, with no Kafka.
struct TestFunction: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run a function once on a sample event and print its result, status and logs (no Kafka needed).",
        discussion: "Exits non-zero when the function does not succeed, so it fits a pre-deploy check.")

    @Argument(help: "The trigger whose function runs, e.g. user.received.notification.")
    var trigger: String

    @Option(name: [.customLong("data"), .customLong("event")], help: "The event data: JSON, or @FILE to read it from a file (--event is an alias; a bare path works too).")
    var event: String

    @Option(name: .long, help: "Directory holding functions/<trigger>.js and chatfn.json.")
    var functions: String = "."

    @Option(name: .long, help: "Timeout in milliseconds (default: the function's own, else 30 s).")
    var timeoutMs: Int?

    func run() async throws {
        let logger = try KafkaOptions.parse(["--log-level", "warning"]).makeLogger()
        let catalog = try await FunctionCatalog(directory: functions, logger: logger)
        try await catalog.prepareRuntime()
        if let problem = catalog.problem(for: trigger) { throw CommandFailure(problem) }
        guard let function = catalog.function(for: trigger) else {
            throw CommandFailure("no function for \(trigger) in \(catalog.directory) (deployed: \(catalog.all.map(\.trigger).joined(separator: ", ")))")
        }
        let payload = try EventData.load(!event.hasPrefix("@") && FileManager.default.fileExists(atPath: event) ? "@\(event)" : event)
        let worker = try await WorkerProcess.launch(configuration: try await catalog.workerConfiguration(), logger: logger)
        let event = CloudEventAttributes(
            id: "test-event", type: trigger, source: "chatfn-test", appId: catalog.manifest.app ?? CloudEventAttributes.defaultAppId)
        let result = await worker.invoke(function.invocation(
            id: "test-\(UUID().uuidString.lowercased())", event: event, mode: .binary, attempt: 1,
            timeout: timeoutMs.map { .milliseconds($0) } ?? function.settings.timeout, payload: payload))
        await worker.shutdown()

        var lines = ["\(trigger) \(result.status.rawValue) in \(ConsoleInvocationReporter.format(result.duration)) (version \(function.version))"]
        lines += result.logs.map { "  │ \($0.level == "info" ? "" : "[\($0.level)] ")\($0.message)" }
        if let value = result.value { lines.append("result: \(String(decoding: value, as: UTF8.self))") }
        if let error = result.error { lines.append("error: \(error.stack ?? error.message)") }
        for command in result.emits {
            lines.append("emits \(command.type)\(command.key.map { " key=\($0)" } ?? ""): \(String(decoding: command.data, as: UTF8.self))")
        }
        if trigger.hasPrefix("user.attempted.") {
            lines.append("decision: \(String(decoding: BlockingDispatcher.decision(for: result, function: function).encoded(), as: UTF8.self))")
        }
        ConsoleOutput.write(lines: lines)
        if result.status != .succeeded { throw ExitCode(1) }
    }
}
