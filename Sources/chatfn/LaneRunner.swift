import ChatfnCore
import AdminServer
import ArgumentParser
import Dispatcher
import Functions
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
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

    @Option(name: .long, help: "Topic of blocking replies (created if missing). Repeat for several: requests naming any other topic are refused.")
    var replyTopic: [String] = ["chatfn.replies"]

    @Option(name: .long, help: "Events handed out and not yet committed; at this bound chatfn stops fetching.")
    var maxInFlight: Int = 1_000

    @Option(name: .long, help: "Serve /healthz, /readyz and /metrics on HOST:PORT (e.g. 0.0.0.0:9090).")
    var admin: String?

    func validate() throws {
        let bounds: [(String, Int, ClosedRange<Int>)] = [
            ("--partitions", Int(partitions), 1...10_000), ("--workers", workers, 1...256),
            ("--blocking-workers", blockingWorkers, 1...256), ("--max-in-flight", maxInFlight, 1...1_000_000),
        ]
        for (flag, value, range) in bounds where !range.contains(value) {
            throw ValidationError("\(flag) must be between \(range.lowerBound) and \(range.upperBound) (got \(value))")
        }
    }
}

/// Runs chatfn — both lanes, and the deployer when `reload` — until SIGTERM or Ctrl-C.
/// - Parameter embedded: start an embedded broker when no broker is named.
func runChatfn(_ options: LaneOptions, embedded: Bool, reload: Bool) async throws {
    let kafkaOptions = options.kafkaOptions
    let logger = try kafkaOptions.makeLogger()
    let catalog = try await FunctionCatalog(directory: options.functions, logger: logger)
    try await catalog.prepareRuntime()
    let manifest = catalog.manifest
    let appId = options.app ?? manifest.app ?? CloudEventAttributes.defaultAppId
    let workerConfiguration = try await catalog.workerConfiguration()
    if workerConfiguration.sandbox == nil {
        logger.warning("Node older than 20: functions run without file-system confinement")
    }
    if !workerConfiguration.isolation.hasNamespaces {
        logger.warning("""
            no PID or mount namespaces for workers (needs root, or unprivileged user namespaces): functions could signal \
            chatfn's processes, and scratch directories are bounded per file only (docs/security.md)
            """)
    }

    let outputs = OutputTopics()
    let topics = ([kafkaOptions.topic, options.requestTopic] + options.replyTopic + outputs.all).map { TopicSpec(name: $0, partitions: options.partitions) }
    var embeddedBroker: EmbeddedKafkaBroker?
    let bootstrap: String
    var clientProperties: [String: String] = [:]
    let named = kafkaOptions.kafka ?? ChatfnEnvironment.kafka
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
    let readiness = Readiness(lanes: ["events", "blocking"])
    var laneWorker = workerConfiguration
    laneWorker.niceness = 10  // a backlog yields the CPU to blocking requests
    let pool = WorkerPool(
        configuration: catalog.poolConfiguration(worker: laneWorker, minWarm: 1, maxProcesses: options.workers), logger: logger)
    let service = EventLaneService(
        configuration: EventLaneService.Configuration(
            consumer: KafkaConsumerConfiguration(
                kafka: KafkaConfiguration(bootstrapServers: bootstrap, properties: clientProperties), groupId: options.group, topics: [kafkaOptions.topic], maxInFlight: options.maxInFlight),
            dispatcher: DispatcherConfiguration(appId: appId, outputs: outputs)),
        catalog: catalog, pool: pool, reporter: reporter, logger: logger, onConsuming: { readiness.markReady("events") })
    let blockingPool = WorkerPool(
        configuration: WorkerPoolConfiguration(worker: workerConfiguration, minWarm: options.blockingWorkers, maxProcesses: options.blockingWorkers),
        logger: logger)
    let blockingDispatcher = BlockingDispatcher(
        appId: appId, catalog: catalog, pool: blockingPool, reporter: reporter, replyTopics: options.replyTopic,
        deadLetterTopic: outputs.deadLetters, capacity: blockingPool.configuration.maxProcesses * blockingPool.configuration.concurrencyPerProcess,
        logger: logger)
    let blockingLane = BlockingLaneService(
        configuration: BlockingLaneService.Configuration(consumer: KafkaConsumerConfiguration(
            kafka: KafkaConfiguration(bootstrapServers: bootstrap, properties: clientProperties),
            groupId: "\(options.group)-blocking", topics: [options.requestTopic])),
        dispatcher: blockingDispatcher, pool: blockingPool, logger: logger, onConsuming: { readiness.markReady("blocking") })
    var services: [any Service] = [service, blockingLane]
    if let admin = options.admin {
        let (host, port) = try parseAdminAddress(admin)
        services.append(AdminServer.application(host: host, port: port, readiness: readiness, logger: logger) {
            laneMetrics(events: service.statistics, blocking: blockingDispatcher, pools: ["events": pool, "blocking": blockingPool])
        })
    }
    if reload { services.append(FunctionDeployer(catalog: catalog, pools: [pool, blockingPool], logger: logger)) }
    let serviceGroup = ServiceGroup(configuration: ServiceGroupConfiguration(
        services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await serviceGroup.run()
    if embeddedBroker != nil { DevBrokerFile.remove(ifStill: bootstrap) }
    withExtendedLifetime(embeddedBroker) {}
}

/// "0.0.0.0:9090" as host and port.
func parseAdminAddress(_ address: String) throws -> (String, Int) {
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else {
        throw ValidationError("--admin \(address): expected HOST:PORT")
    }
    return (String(address[..<colon]), port)
}

/// What `/metrics` reports.
func laneMetrics(events: DispatchStatistics, blocking: BlockingDispatcher, pools: [String: WorkerPool]) -> [Metric] {
    func count(_ atomic: borrowing Atomic<Int>) -> Double { Double(atomic.load(ordering: .relaxed)) }
    var metrics = [
        Metric("chatfn_invocations_total", .counter, help: "Function attempts for non-blocking events.", value: count(events.invocations)),
        Metric("chatfn_invocations_succeeded_total", .counter, help: "Attempts that succeeded.", value: count(events.succeeded)),
        Metric("chatfn_retries_total", .counter, help: "Attempts scheduled again after a failure.", value: count(events.retries)),
        Metric("chatfn_dead_lettered_total", .counter, help: "Events sent to the dead-letter topic.", value: count(events.deadLettered)),
        Metric("chatfn_events_without_function_total", .counter, help: "Events whose trigger has no function.", value: count(events.skippedNoFunction)),
        Metric("chatfn_events_abandoned_total", .counter, help: "Events given up while stopping (they run again).", value: count(events.abandoned)),
        Metric("chatfn_invocations_running", .gauge, help: "Non-blocking invocations running now.", value: count(events.running)),
        Metric("chatfn_blocking_decisions_total", .counter, help: "Blocking requests answered.", labels: ["decision": "allow"], value: count(blocking.allowed)),
        Metric("chatfn_blocking_decisions_total", .counter, help: "Blocking requests answered.", labels: ["decision": "deny"], value: count(blocking.denied)),
        Metric("chatfn_blocking_expired_total", .counter, help: "Blocking requests past their deadline, not run.", value: count(blocking.expired)),
        Metric("chatfn_blocking_overloaded_total", .counter, help: "Blocking requests answered overloaded: they could not start before their deadline.", value: count(blocking.overloaded)),
        Metric("chatfn_blocking_refused_total", .counter, help: "Blocking requests not answered: foreign reply topic or missing partition.", value: count(blocking.refused)),
        Metric("chatfn_records_given_up_total", .counter, help: "Dead letters and commands the broker refused for good.", value: count(events.givenUp) + count(blocking.givenUp)),
    ]
    for (lane, pool) in pools.sorted(by: { $0.key < $1.key }) {
        metrics.append(Metric("chatfn_workers", .gauge, help: "Live Node worker processes.", labels: ["pool": lane], value: Double(pool.workers.count)))
    }
    return metrics
}
