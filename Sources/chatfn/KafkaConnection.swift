import ChatfnCore
import Foundation
import KafkaClient
import Logging
import Registry
import ServiceLifecycle

/// The cluster a command works with: the one it was told about (topics created where missing), or,
/// for `chatfn dev`, an embedded broker started here.
struct KafkaConnection {
    var bootstrap: String
    /// Settings every client of this cluster gets.
    var properties: [String: String] = [:]
    /// Kept alive as long as the command runs.
    var embeddedBroker: EmbeddedKafkaBroker?

    var configuration: KafkaConfiguration { KafkaConfiguration(bootstrapServers: bootstrap, properties: properties) }

    /// The registry's topics: one partition (its order is the registry's), compacted (the latest record
    /// of each key is kept forever), and an audit log that is not (compaction erases history).
    static let controlTopics = [
        TopicSpec(name: RegistryTopics.registry, partitions: 1, configs: ["cleanup.policy": "compact"]),
        TopicSpec(name: RegistryTopics.audit, partitions: 1),
    ]

    /// - Parameter embeddedWhenUnnamed: start an embedded broker when no broker is named (`chatfn dev`).
    static func open(_ options: KafkaOptions, embeddedWhenUnnamed: Bool, topics: [TopicSpec], logger: Logger) async throws -> KafkaConnection {
        let properties = try options.clientProperties()
        guard let named = options.namedBroker(properties) else {
            guard embeddedWhenUnnamed else {
                throw CommandFailure("no Kafka broker: pass --kafka HOST:PORT or set CHATFN_KAFKA (chatfn dev starts an embedded one)")
            }
            let embeddedProperties = EmbeddedKafkaBroker.clientProperties.merging(properties) { $1 }
            _ = try KafkaOptions.checked(KafkaConfiguration(bootstrapServers: "", properties: embeddedProperties))
            let broker = try EmbeddedKafkaBroker()
            for topic in topics { try broker.createTopic(topic.name, partitions: topic.partitions) }
            DevFile.broker.write(broker.bootstrapServers)
            ConsoleOutput.write("chatfn: embedded Kafka broker listening on \(broker.bootstrapServers)")
            return KafkaConnection(bootstrap: broker.bootstrapServers, properties: embeddedProperties, embeddedBroker: broker)
        }
        let connection = KafkaConnection(bootstrap: named.address, properties: properties)
        _ = try KafkaOptions.checked(connection.configuration)
        try await KafkaOptions.reachable(connection.configuration, named)
        try await TopicProvisioner.ensure(topics, configuration: connection.configuration, logger: logger)
        return connection
    }

    /// Ends the embedded broker's advertisement (another `chatfn dev` may have replaced it).
    func close() {
        if let embeddedBroker { DevFile.broker.remove(ifStill: embeddedBroker.bootstrapServers) }
        withExtendedLifetime(embeddedBroker) {}
    }
}

/// Stops chatfn with a clear message when the registry topic would lose or reorder records, and warns
/// when the broker does not let chatfn look. A service, so that a broker slow to answer does not hold
/// up the start.
struct RegistryTopicCheck: Service {
    let connection: KafkaConnection
    let logger: Logger

    func run() async throws {
        guard connection.embeddedBroker == nil else { return }  // created here, as it must be
        let configuration = connection.configuration
        let topic = RegistryTopics.registry
        if let partitions = try await TopicProvisioner.partitionCounts(of: [topic], configuration: configuration)[topic], partitions != 1 {
            throw CommandFailure("\(topic) has \(partitions) partitions: it must have exactly 1, since the registry's order is its partition's order")
        }
        // A broker that does not answer DescribeConfigs (librdkafka's mock among them) holds it to the timeout.
        guard let configs = try? await TopicProvisioner.describeConfigs(of: topic, keys: ["cleanup.policy"], configuration: configuration, timeout: .seconds(2)),
              let policy = configs["cleanup.policy"] else {
            logger.warning("could not check \(topic)'s cleanup.policy (the broker does not let chatfn describe topic configs): it must be compact")
            return
        }
        guard policy.split(separator: ",").contains("compact"), !policy.split(separator: ",").contains("delete") else {
            throw CommandFailure("""
                \(topic) has cleanup.policy=\(policy): it must be compact, or retention deletes applications and versions \
                (kafka-configs.sh --alter --entity-type topics --entity-name \(topic) --add-config cleanup.policy=compact)
                """)
        }
    }
}

/// A service group configuration: `finite` services may return before shutdown (a check, a one-off
/// push) without stopping the others; any other service returning, or any throwing, stops chatfn.
/// - Parameter shutdownBound: how long a graceful shutdown may take before what is left is cancelled.
func serviceGroup(_ services: [any Service], finite: [any Service] = [], shutdownBound: Duration? = nil, logger: Logger) -> ServiceGroup {
    func named(_ service: any Service, ending: ServiceGroupConfiguration.ServiceConfiguration.TerminationBehavior) -> ServiceGroupConfiguration.ServiceConfiguration {
        .init(service: service, successTerminationBehavior: ending, failureTerminationBehavior: .cancelGroup,
              serviceName: String(describing: type(of: service)))
    }
    var configuration = ServiceGroupConfiguration(
        services: services.map { named($0, ending: .cancelGroup) } + finite.map { named($0, ending: .ignore) },
        gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    configuration.maximumGracefulShutdownDuration = shutdownBound
    return ServiceGroup(configuration: configuration)
}
