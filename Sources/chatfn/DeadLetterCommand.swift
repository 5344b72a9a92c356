import ChatfnCore
import ArgumentParser
import Dispatcher
import Functions
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation

/// `chatfn dlq`: inspect and replay dead-lettered events.
struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Inspect and replay the events that went to the dead-letter topic.",
        subcommands: [List.self, Replay.self])

    struct Filter: ParsableArguments {
        @Option(name: .long, help: "The dead-letter topic.")
        var dlqTopic: String = OutputTopics().deadLetters

        @Option(name: .long, help: "Only events of this trigger.")
        var trigger: String?

        @Option(name: .long, help: "Only events dead-lettered since: an ISO 8601 time (2026-11-25T09:00:00Z) or an age (30m, 2h, 1d).")
        var since: String?

        func sinceDate() throws -> Date? {
            guard let since else { return nil }
            if let date = try? Date(since, strategy: .iso8601) { return date }
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
            if let unit = since.last.flatMap({ units[$0] }), let amount = Double(since.dropLast()), amount >= 0 {
                return Date().addingTimeInterval(-amount * unit)
            }
            throw ValidationError("--since \(since): expected an ISO 8601 time or an age such as 30m, 2h, 1d")
        }

        func entries(from kafka: KafkaConfiguration) async throws -> [DeadLetterEntry] {
            let since = try sinceDate()
            let records = try await TopicReader.readAll(topic: dlqTopic, configuration: kafka)
            return records.map(DeadLetterEntry.init).filter { $0.matches(trigger: trigger, since: since) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead-lettered events, oldest first.")

        @OptionGroup var kafkaOptions: KafkaOptions
        @OptionGroup var filter: Filter

        @Flag(name: .long, help: "Also print each event's data (its control characters escaped).")
        var showData = false

        func run() async throws {
            let entries = try await filter.entries(from: try await kafkaOptions.clientConfiguration())
            for entry in entries {
                let time = entry.time?.formatted(.iso8601) ?? "-"
                let source = entry.source.map(\.description) ?? "-"
                var lines = ["\(time) \(entry.trigger ?? "-") \(entry.eventId ?? "-") reason=\(entry.reason) status=\(entry.status) attempts=\(entry.attempts) from=\(source)",
                             "  \(entry.error)"]
                if showData {
                    let data = String(decoding: entry.record.value, as: UTF8.self)
                    lines.append("  data: " + (entry.record.value.isEmpty ? "(omitted: the broker refused the full record)" : data.escapingControlCharacters()))
                }
                ConsoleOutput.write(lines: lines)
            }
            ConsoleOutput.write("\(entries.count) dead-lettered event(s)")
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish dead-lettered events again to the topic they came from.",
            discussion: "Replayed events keep their ids (context.eventId), so functions that use it as an idempotency key drop repeats. Replaying twice publishes twice.")

        @OptionGroup var kafkaOptions: KafkaOptions
        @OptionGroup var filter: Filter

        func run() async throws {
            let kafka = try await kafkaOptions.clientConfiguration()
            let entries = try await filter.entries(from: kafka)
            let producer = try KafkaProducer(configuration: kafka)
            var replayed = 0
            for entry in entries {
                guard let record = DeadLetter.replay(entry.record) else {
                    ConsoleOutput.write("skipped \(entry.eventId ?? "-"): \(DeadLetter.replayProblem(entry.record) ?? "cannot be replayed")")
                    continue
                }
                let receipt = try await producer.send(record)
                replayed += 1
                ConsoleOutput.write("replayed \(entry.trigger ?? "-") \(entry.eventId ?? "-") to \(record.topic)/\(receipt.partition)@\(receipt.offset)")
            }
            await producer.shutdown()
            ConsoleOutput.write("\(replayed) event(s) replayed")
        }
    }
}
