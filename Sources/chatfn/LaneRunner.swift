import ArgumentParser
import Dispatcher
import EventConsumer
import Foundation
import Logging
import ServiceLifecycle
import Workers

/// What `chatfn dev` and `chatfn run` share: the application, the consumer group, the workers.
struct LaneOptions: ParsableArguments {
    @OptionGroup var kafkaOptions: KafkaOptions

    @Option(name: .long, help: "Directory holding functions/<trigger>.js.")
    var functions: String = "."

    @Option(name: .long, help: "Consumer group id.")
    var group: String = "chatfn"

    @Option(name: .long, help: "Application id this chatfn serves (the events' ce_appid). Default: chatfn.json's app, else default.")
    var app: String?

    @Option(name: .long, help: "Partitions of the events topic when chatfn creates it.")
    var partitions: Int32 = 4

    @Option(name: .long, help: "Most Node worker processes for non-blocking events.")
    var workers: Int = 2

    @Option(name: .long, help: "Node worker processes reserved for blocking requests (kept warm).")
    var blockingWorkers: Int = 1

    @Option(name: .long, help: "Topic of blocking requests.")
    var requestTopic: String = "chatfn.requests"

    @Option(name: .long, help: "Topic of blocking replies (created if missing; callers may name others).")
    var replyTopic: String = "chatfn.replies"

    @Option(name: .long, help: "Events handed out and not yet committed; at this bound chatfn stops fetching.")
    var maxInFlight: Int = 1_000
}

/// Runs chatfn — both lanes, and the deployer when `reload` — until SIGTERM or Ctrl-C.
/// - Parameter embedded: start an embedded broker when no broker is named.
func runChatfn(_ options: LaneOptions, embedded: Bool, reload: Bool) async throws {
    let kafkaOptions = options.kafkaOptions
    let logger = try kafkaOptions.makeLogger()
    let catalog = try FunctionCatalog(directory: options.functions, logger: logger)
    try await catalog.prepareRuntime()
    let manifest = catalog.manifest
    let appId = options.app ?? manifest.app ?? CloudEventAttributes.defaultAppId
    let workerConfiguration = try catalog.workerConfiguration()
    if workerConfiguration.sandbox == nil {
        logger.warning("Node older than 20: functions run without file-system confinement")
    }

    let outputs = OutputTopics()
    let topics = ([kafkaOptions.topic, options.requestTopic, options.replyTopic] + outputs.all).map { TopicSpec(name: $0, partitions: options.partitions) }
    var embeddedBroker: EmbeddedKafkaBroker?
    let bootstrap: String
    var clientProperties: [String: String] = [:]
    let named = kafkaOptions.kafka ?? ProcessInfo.processInfo.environment["CHATFN_KAFKA"]
    if !embedded, (named ?? "").isEmpty {
        throw CommandFailure("no Kafka broker: pass --kafka HOST:PORT or set CHATFN_KAFKA (chatfn dev starts an embedded one)")
    }
    if let explicit = named, !explicit.isEmpty {
        bootstrap = explicit
        try await TopicProvisioner.ensure(
            topics, configuration: KafkaConfiguration(bootstrapServers: bootstrap), logger: logger)
    } else {
        let broker = try EmbeddedKafkaBroker()
        for topic in topics { try broker.createTopic(topic.name, partitions: topic.partitions) }
        bootstrap = broker.bootstrapServers
        embeddedBroker = broker
        clientProperties = EmbeddedKafkaBroker.clientProperties
        DevBrokerFile.write(bootstrap)
        ConsoleOutput.write("chatfn: embedded Kafka broker listening on \(bootstrap)")
    }
    var banner = ["chatfn: consuming \(kafkaOptions.topic) from \(bootstrap) as group \(options.group); application \(appId); functions in \(catalog.directory):"]
    banner += catalog.all.map { "  \($0.trigger)  (\($0.version))" }
    if catalog.all.isEmpty { banner.append("  (none yet: add functions/<trigger>.js)") }
    ConsoleOutput.write(lines: banner)
    ConsoleOutput.write("chatfn: emit an event with: chatfn emit user.sent.message --key user-1 --data '{\"user\":{\"name\":\"ada\"}}'")

    let reporter = ConsoleInvocationReporter()
    var laneWorker = workerConfiguration
    laneWorker.niceness = 10  // a backlog yields the CPU to blocking requests
    let pool = WorkerPool(
        configuration: catalog.poolConfiguration(worker: laneWorker, minWarm: 1, maxProcesses: options.workers), logger: logger)
    let service = ChatFunctionsService(
        configuration: ChatFunctionsService.Configuration(
            consumer: KafkaConsumerConfiguration(
                kafka: KafkaConfiguration(bootstrapServers: bootstrap, properties: clientProperties), groupId: options.group, topics: [kafkaOptions.topic], maxInFlight: options.maxInFlight),
            dispatcher: DispatcherConfiguration(appId: appId, outputs: outputs)),
        catalog: catalog, pool: pool, reporter: reporter, logger: logger)
    let blockingPool = WorkerPool(
        configuration: WorkerPoolConfiguration(worker: workerConfiguration, minWarm: options.blockingWorkers, maxProcesses: options.blockingWorkers),
        logger: logger)
    let blockingLane = BlockingLaneService(
        configuration: BlockingLaneService.Configuration(consumer: KafkaConsumerConfiguration(
            kafka: KafkaConfiguration(bootstrapServers: bootstrap, properties: clientProperties),
            groupId: "\(options.group)-blocking", topics: [options.requestTopic])),
        dispatcher: BlockingDispatcher(appId: appId, catalog: catalog, pool: blockingPool, reporter: reporter, logger: logger),
        pool: blockingPool, logger: logger)
    var services: [any Service] = [service, blockingLane]
    if reload { services.append(FunctionDeployer(catalog: catalog, pools: [pool, blockingPool], logger: logger)) }
    let serviceGroup = ServiceGroup(configuration: ServiceGroupConfiguration(
        services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await serviceGroup.run()
    if embeddedBroker != nil { DevBrokerFile.remove(ifStill: bootstrap) }
    withExtendedLifetime(embeddedBroker) {}
}
