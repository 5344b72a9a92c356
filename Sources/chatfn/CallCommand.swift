import ChatfnCore
import ArgumentParser
import ChatFunctionsClient
import Dispatcher
import Functions
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation

/// `chatfn call`: asks a blocking function, as a chat server would, and prints its decision.
struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call a blocking trigger (e.g. user.attempted.start_session) and print the decision JSON.",
        discussion: "Exits 0 when the decision is allow, 2 when it is deny, 1 on an error (as a script's check expects).")

    @OptionGroup var kafkaOptions: KafkaOptions
    @OptionGroup var event: EventOptions

    @Option(name: .long, help: "How long to wait: 2s, 500ms, or milliseconds.")
    var timeout: String = "2s"

    @Option(name: .long, help: "The decision when no answer comes in time: allow or deny.")
    var fallback: String = "deny"

    @Option(name: .long, help: "Reply partition to read (one per concurrent caller).")
    var replyPartition: Int32 = 0

    func run() async throws {
        let payload = try event.payload()
        guard let verdict = Decision.Verdict(rawValue: fallback) else { throw ValidationError("--fallback must be allow or deny") }
        let wait = try Self.parseDuration(timeout)
        var configuration = ChatFunctionsClient.Configuration(kafka: try await kafkaOptions.clientConfiguration())
        configuration.appId = event.app
        configuration.replyPartition = replyPartition
        configuration.source = "chatfn-cli"
        let client = try await ChatFunctionsClient.connect(configuration)
        let decision = await client.call(trigger: event.trigger, data: payload, timeout: wait, fallback: verdict)
        await client.shutdown()
        ConsoleOutput.write(String(decoding: decision.encoded(), as: UTF8.self))
        if decision.decision == .deny { throw ExitCode(2) }
    }

    static func parseDuration(_ text: String) throws -> Duration {
        if text.hasSuffix("ms"), let value = Int(text.dropLast(2)) { return .milliseconds(value) }
        if text.hasSuffix("s"), let value = Double(text.dropLast()) { return .milliseconds(Int(value * 1_000)) }
        if let value = Int(text) { return .milliseconds(value) }
        throw ValidationError("--timeout \(text): expected 2s, 500ms or a number of milliseconds")
    }
}
