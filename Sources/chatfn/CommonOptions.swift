import Dispatcher
import ChatfnCore
import ArgumentParser
import Foundation
import ChatEvents
import KafkaClient
import EventConsumer
import Logging

/// Options every command that talks to Kafka shares.
struct KafkaOptions: ParsableArguments {
    @Option(name: .long, help: "Kafka bootstrap servers, HOST:PORT[,HOST:PORT]. Default: $CHATFN_KAFKA, else the broker of a running `chatfn dev`.")
    var kafka: String?

    @Option(name: .long, help: "Topic of non-blocking events.")
    var topic: String = "chatfn.events"

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = ChatfnEnvironment.logLevel ?? "info"

    /// The broker to use when none was named on the command line: $CHATFN_KAFKA, then `chatfn dev`'s.
    func resolvedKafka() throws -> String {
        if let kafka, !kafka.isEmpty { return kafka }
        if let fromEnvironment = ChatfnEnvironment.kafka { return fromEnvironment }
        if let devBroker = DevFile.broker.read() { return devBroker }
        throw ValidationError("no Kafka broker: pass --kafka HOST:PORT, set CHATFN_KAFKA, or start `chatfn dev` first")
    }

    func makeLogger(label: String = "chatfn") throws -> Logger {
        guard let level = Logger.Level(rawValue: logLevel.lowercased()) else {
            throw ValidationError("unknown log level \(logLevel)")
        }
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

/// The event a command publishes or asks about, as the chat platform would send it.
struct EventOptions: ParsableArguments {
    @Argument(help: "The trigger (CloudEvent type), e.g. user.received.notification.")
    var trigger: String

    @Option(name: .long, help: "The event data: JSON, or @FILE to read it from a file.")
    var data: String

    @Option(name: .long, help: "Application id (ce_appid).")
    var app: String = CloudEventAttributes.defaultAppId

    func payload() throws -> [UInt8] { try EventData.load(data) }
}

/// A file where `chatfn dev` leaves an address for the commands run in another terminal: its embedded
/// broker's (`chatfn emit`, `call`, `dlq`) and its API's (`chatfn deploy`, `versions`, `logs`, …).
struct DevFile: Sendable {
    static let broker = DevFile(name: "dev-broker")
    static let api = DevFile(name: "dev-api")

    let name: String

    var path: String { ChatfnEnvironment.home + "/" + name }

    func write(_ value: String) {
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? Data(value.utf8).write(to: url)
    }

    func read() -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let value = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return value.isEmpty ? nil : value
    }

    /// Removes the file unless another `chatfn dev` has written its own since.
    func remove(ifStill value: String) {
        if read() == value { try? FileManager.default.removeItem(atPath: path) }
    }
}

/// A command that could not do its work; ArgumentParser prints it as `Error: …` without the usage.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
