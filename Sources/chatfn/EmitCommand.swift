import Dispatcher
import ChatfnCore
import ArgumentParser
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Functions

/// `chatfn emit`: publishes one event as a binary-mode CloudEvent.
struct Emit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish an event for a trigger, as a chat platform would.")

    @OptionGroup var kafkaOptions: KafkaOptions
    @OptionGroup var event: EventOptions

    @Option(name: .long, help: "The ordering key (user or channel id): events with one key run in order.")
    var key: String?

    @Option(name: .long, help: "Event id (ce_id). Default: a new UUID.")
    var id: String?

    @Option(name: .long, help: "Event source (ce_source).")
    var source: String = "chatfn-cli"

    func run() async throws {
        let payload = try event.payload()
        let configuration = try await kafkaOptions.clientConfiguration()
        let bootstrap = configuration.bootstrapServers
        // A broker that cannot take the event within 10 s fails the command, unless the operator said otherwise.
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: bootstrap, properties: ["message.timeout.ms": "10000"])
            .merging(configuration.properties))
        let attributes = CloudEventAttributes(
            id: id ?? UUID().uuidString.lowercased(), type: event.trigger, source: source,
            time: Date().formatted(.iso8601), appId: event.app)
        let record = CloudEventKafkaBinding.binaryRecord(
            topic: kafkaOptions.topic, key: key.map { Array($0.utf8) }, attributes: attributes, data: payload)
        do {
            let receipt = try await producer.send(record)
            print("published \(event.trigger) id=\(attributes.id) to \(kafkaOptions.topic)/\(receipt.partition)@\(receipt.offset)")
        } catch {
            await producer.shutdown(timeoutMs: 1_000)
            throw CommandFailure("could not publish to \(bootstrap): \(error)")
        }
        await producer.shutdown()
    }
}

/// Event data given on the command line: JSON, or @FILE.
enum EventData {
    static func load(_ argument: String) throws -> [UInt8] {
        var bytes = Array(argument.utf8)
        if argument.hasPrefix("@") {
            let path = String(argument.dropFirst())
            guard FileManager.default.fileExists(atPath: path) else { throw CommandFailure("--data @\(path): file not found") }
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw CommandFailure("--data @\(path): the file cannot be read")
            }
            bytes = Array(contents)
        }
        if let problem = JSONSyntax.firstProblem(in: bytes) {
            let source = argument.hasPrefix("@") ? String(argument.dropFirst()) : "--data"
            let hint = !argument.hasPrefix("@") && FileManager.default.fileExists(atPath: argument) ? " (a file? write --data @\(argument))" : ""
            throw CommandFailure("\(source):\(problem.line):\(problem.column): the event data is not JSON: \(problem.message)\(hint)")
        }
        return bytes
    }
}
