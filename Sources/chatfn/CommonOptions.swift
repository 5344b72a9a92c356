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

    @Option(name: .customShort("X"), help: ArgumentHelp(
        "A librdkafka client property for every Kafka client chatfn creates (repeatable), e.g. -X security.protocol=SASL_SSL (docs/kafka.md).",
        valueName: "key=value"))
    var kafkaProperties: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "A file of librdkafka client properties (key=value lines, as Kafka's --command-config). Default: $CHATFN_KAFKA_CONFIG. -X overrides it.",
        valueName: "file"))
    var kafkaConfig: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = ChatfnEnvironment.logLevel ?? "info"

    @Option(name: .long, help: "text, or json (one object per line, for log shippers). Default: $CHATFN_LOG_FORMAT, else text.")
    var logFormat: String = ChatfnEnvironment.logFormat ?? "text"

    /// The client properties: the file's, then each -X on top. Not yet checked (see ``clientConfiguration()``).
    func clientProperties() throws -> [String: String] {
        var properties: [String: String] = [:]
        if let file = kafkaConfig ?? ChatfnEnvironment.kafkaConfig {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CommandFailure("--kafka-config \(file): file not found or not readable")
            }
            do {
                for (name, value) in try KafkaProperties.parse(String(decoding: data, as: UTF8.self), source: file) { properties[name] = value }
            } catch let error as KafkaError {
                throw CommandFailure(error.message)
            }
        }
        for assignment in kafkaProperties {
            do {
                let (name, value) = try KafkaProperties.assignment(assignment)
                properties[name] = value
            } catch let error as KafkaError {
                throw CommandFailure(error.message)
            }
        }
        return properties
    }

    /// A broker address and what named it, for an error that says what to change.
    struct NamedBroker {
        var address: String
        /// "--kafka", "CHATFN_KAFKA", …: where the user changes it.
        var source: String
    }

    /// The broker named by --kafka, $CHATFN_KAFKA or the properties' bootstrap.servers (nil: none named).
    func namedBroker(_ properties: [String: String]) -> NamedBroker? {
        let candidates = [(kafka, "--kafka"), (ChatfnEnvironment.kafka, "CHATFN_KAFKA"),
                          (properties["bootstrap.servers"], "bootstrap.servers in --kafka-config or -X")]
        return candidates.first { !($0.0 ?? "").isEmpty }.map { NamedBroker(address: $0.0 ?? "", source: $0.1) }
    }

    /// The cluster and client properties of a command that connects to a running chatfn's broker
    /// (`emit`, `call`, `dlq`): the broker named, else `chatfn dev`'s; every property checked by librdkafka,
    /// the broker checked to answer. Sets up logging: call it once. librdkafka's own lines are kept out
    /// of the terminal (one error says what went wrong) unless --log-level is debug or trace.
    func clientConfiguration() async throws -> KafkaConfiguration {
        var logger = try makeLogger()
        if logger.logLevel > .debug {
            logger.logLevel = .critical
            KafkaLog.use(logger)
        }
        let properties = try clientProperties()
        let broker = namedBroker(properties) ?? DevFile.broker.read().map { NamedBroker(address: $0, source: "the running chatfn dev") }
        guard let broker else {
            throw ValidationError("no Kafka broker: pass --kafka HOST:PORT, set CHATFN_KAFKA, or start `chatfn dev` first")
        }
        let configuration = try Self.checked(KafkaConfiguration(bootstrapServers: broker.address, properties: properties))
        try await Self.reachable(configuration, broker)
        return configuration
    }

    /// Fails, in one line naming the address and what named it, when no broker answers within 8 s.
    static func reachable(_ configuration: KafkaConfiguration, _ broker: NamedBroker) async throws {
        do {
            try await KafkaReachability.check(configuration)
        } catch {
            let change = broker.source == "the running chatfn dev"
                ? "is chatfn dev still running? (or pass --kafka)" : "check the address and that the broker is up (set by \(broker.source))"
            throw CommandFailure("cannot reach Kafka at \(broker.address): \(error); \(change)")
        }
    }

    /// `configuration`, once librdkafka accepted every property (a one-line error naming the first it refuses).
    static func checked(_ configuration: KafkaConfiguration) throws -> KafkaConfiguration {
        do {
            try configuration.validate()
        } catch let error as KafkaError {
            throw CommandFailure(error.message)
        }
        return configuration
    }

    func makeLogger(label: String = "chatfn") throws -> Logger {
        guard let level = Logger.Level(rawValue: logLevel.lowercased()) else {
            throw ValidationError("unknown log level \(logLevel)")
        }
        guard let format = LogFormat(rawValue: logFormat.lowercased()) else {
            throw ValidationError("unknown log format \(logFormat): text or json")
        }
        LogFormat.use(format)
        switch format {
        case .text: LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        case .json: LoggingSystem.bootstrap { JSONLogHandler(label: $0) }
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        KafkaLog.use(logger)
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
