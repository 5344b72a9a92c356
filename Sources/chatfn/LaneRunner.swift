import AdminServer
import ArgumentParser
import ChatEvents
import ChatfnCore
import Dispatcher
import EventConsumer
import Foundation
import Functions
import Hosting
import KafkaClient
import Logging
import Registry
import ServiceLifecycle
import Synchronization
import Workers

/// What `chatfn dev` and `chatfn run` share: the applications, the consumer group, the workers.
struct LaneOptions: ParsableArguments {
    @OptionGroup var kafkaOptions: KafkaOptions

    @Option(name: .long, help: "Serve the application of this directory (chatfn.json, functions/<trigger>.js). `chatfn run` without it serves every application of the registry; `chatfn dev` syncs it (default .) into the registry.")
    var functions: String?

    @Option(name: .long, help: "Consumer group id.")
    var group: String = "chatfn"

    @Option(name: .long, help: "Application id of the --functions directory (the events' ce_appid). Default: chatfn.json's app, else default.")
    var app: String?

    @Option(name: .long, help: "Partitions of the events topic when chatfn creates it.")
    var partitions: Int32 = 4

    @Option(name: .long, help: "Most Node worker processes per application for non-blocking events.")
    var workers: Int = 2

    @Option(name: .long, help: "Node worker processes per application reserved for blocking requests (kept warm).")
    var blockingWorkers: Int = 1

    @Option(name: .long, help: "Seconds without events after which a registry application's worker processes stop (it starts again on its next event).")
    var idleTimeout: Int = 300

    @Option(name: .long, help: "Topic of blocking requests.")
    var requestTopic: String = "chatfn.requests"

    @Option(name: .long, help: "Topic of blocking replies (created if missing). Repeat for several: requests naming any other topic are refused.")
    var replyTopic: [String] = ["chatfn.replies"]

    @Option(name: .long, help: "Events handed out and not yet committed; at this bound chatfn stops fetching.")
    var maxInFlight: Int = 1_000

    @Option(name: .long, help: "Serve /healthz, /readyz and /metrics on HOST:PORT (e.g. 0.0.0.0:9090).")
    var admin: String?

    @Option(name: .long, help: "Seconds in-flight functions may finish in after SIGTERM; then what is left is abandoned (uncommitted, so it runs again) and chatfn exits within 5 more seconds.")
    var shutdownTimeout: Int = 25

    func validate() throws {
        let bounds: [(String, Int, ClosedRange<Int>)] = [
            ("--partitions", Int(partitions), 1...10_000), ("--workers", workers, 1...256),
            ("--blocking-workers", blockingWorkers, 1...256), ("--max-in-flight", maxInFlight, 1...1_000_000),
            ("--idle-timeout", idleTimeout, 1...604_800), ("--shutdown-timeout", shutdownTimeout, 1...3_600),
        ]
        for (flag, value, range) in bounds where !range.contains(value) {
            throw ValidationError("\(flag) must be between \(range.lowerBound) and \(range.upperBound) (got \(value))")
        }
    }

    var drainTimeout: Duration { .seconds(shutdownTimeout) }

    /// The topics the lanes use, and the registry's when they serve it.
    func topics(withRegistry: Bool) -> [TopicSpec] {
        ([kafkaOptions.topic, requestTopic] + replyTopic + OutputTopics().all).map { TopicSpec(name: $0, partitions: partitions) }
            + (withRegistry ? KafkaConnection.controlTopics : [])
    }
}

/// How the applications reach the lanes.
enum ApplicationSource {
    /// One application from a directory; `reload`: redeploy its saves.
    case directory(String, reload: Bool)
    /// Every application of the registry; `dev`: also the API on `listen`, and the directory synced into
    /// the registry (when `sync`).
    case registry(dev: DevControl?)

    struct DevControl {
        var listen: String
        var directory: String
        var sync: Bool
    }
}

/// Runs chatfn's lanes until SIGTERM or Ctrl-C.
func runChatfn(_ options: LaneOptions, source: ApplicationSource) async throws {
    let startupSignals = StartupSignals()
    let kafkaOptions = options.kafkaOptions
    let logger = try kafkaOptions.makeLogger()
    var dev: ApplicationSource.DevControl?
    var fromRegistry = false
    if case .registry(let control) = source { (dev, fromRegistry) = (control, true) }
    let connection = try await KafkaConnection.open(kafkaOptions, embeddedWhenUnnamed: dev != nil, topics: options.topics(withRegistry: fromRegistry), logger: logger)
    defer { connection.close() }
    var services: [any Service] = []
    /// Services that may end before shutdown: a check, a one-off push.
    var finiteServices: [any Service] = []
    var closers: [@Sendable () async -> Void] = []
    let applications: any ApplicationLookup
    /// What the lanes wait for before they consume: the registry read to its end, and `chatfn dev`'s
    /// first push of its directory.
    let registryRead = StopSignal(), directoryPushed = StopSignal()

    switch source {
    case .directory(let directory, let reload):
        registryRead.stop()
        directoryPushed.stop()
        let served = try await serveDirectory(directory, options: options, logger: logger)
        applications = SingleApplication(served, logger: logger)
        if reload { services.append(FunctionDeployer(catalog: served.catalog, pools: [served.events, served.blocking], logger: logger)) }
        var banner = ["chatfn: consuming \(kafkaOptions.topic) from \(connection.bootstrap) as group \(options.group); application \(served.id); functions in \(served.catalog.directory):"]
        banner += served.catalog.all.map { "  \($0.trigger)  (\($0.version))" }
        if served.catalog.all.isEmpty { banner.append("  (none yet: add functions/<trigger>.js)") }
        ConsoleOutput.write(lines: banner)
    case .registry(let dev):
        warnAboutIsolation(logger: logger)
        finiteServices.append(RegistryTopicCheck(connection: connection, logger: logger))
        let follower = try await RegistryFollower.start(configuration: connection.configuration)
        closers.append { await follower.shutdown() }
        Task {
            await follower.waitUntilCaughtUp()
            registryRead.stop()
        }
        let sealer: SecretSealer? = if dev != nil {
            try ControlPlaneRunner.sealer(embeddedBroker: connection.embeddedBroker != nil, logger: logger)
        } else {
            try ChatfnEnvironment.secretsKey.map { try SecretSealer(base64Key: $0) }
        }
        if sealer == nil { logger.warning("CHATFN_SECRETS_KEY is not set: applications with secrets cannot be served") }
        let registryApplications = RegistryApplications(
            follower: follower, sealer: sealer,
            configuration: .init(eventWorkers: options.workers, blockingWorkers: options.blockingWorkers, idleTimeout: .seconds(options.idleTimeout)),
            logger: logger)
        applications = registryApplications
        services.append(registryApplications)
        if let dev, let sealer {
            let (host, port) = try parseListenAddress(dev.listen, flag: "--listen")
            let apiURL = Mutex<String?>(nil)
            let apiListening = StopSignal()
            let control = try await ControlPlaneRunner.start(
                connection: connection, follower: follower, applications: registryApplications, sealer: sealer,
                tokens: try ControlPlaneRunner.tokens(listeningOn: host), host: host, port: port, logger: logger) { url in
                apiURL.withLock { $0 = url }
                apiListening.stop()
            }
            // Announced once the directory is in the registry: a command run at once finds its application.
            Task {
                await directoryPushed.waitUntilStopped()
                guard let url = apiURL.withLock({ $0 }) else { return }
                DevFile.api.write(url)
                ConsoleOutput.write("chatfn: API on \(url) (chatfn deploy, versions, logs… find it by themselves)")
                ConsoleOutput.write("chatfn: dashboard on \(url)/ (open it in a browser)")
            }
            services += control.services
            closers.append {
                await control.close()
                if let url = apiURL.withLock({ $0 }) { DevFile.api.remove(ifStill: url) }
            }
            finiteServices.append(DirectorySync(directory: dev.directory, app: options.app, watch: dev.sync, apiURL: { apiURL.withLock { $0 } },
                                          apiReady: [apiListening, registryRead], firstPushDone: directoryPushed, logger: logger))
        } else {
            directoryPushed.stop()
        }
        ConsoleOutput.write("chatfn: consuming \(kafkaOptions.topic) from \(connection.bootstrap) as group \(options.group); serving the registry's applications")
    }
    ConsoleOutput.write("chatfn: emit an event with: chatfn emit user.sent.message --key user-1 --data '{\"user\":{\"name\":\"ada\"}}'")

    let reporter = ConsoleInvocationReporter()
    let readiness = Readiness(lanes: ["events", "blocking"])
    let service = EventLaneService(
        configuration: EventLaneService.Configuration(
            consumer: KafkaConsumerConfiguration(kafka: connection.configuration, groupId: options.group, topics: [kafkaOptions.topic],
                                                 maxInFlight: options.maxInFlight, drainTimeout: options.drainTimeout),
            dispatcher: DispatcherConfiguration()),
        applications: applications, reporter: reporter, logger: logger, onConsuming: { readiness.markReady("events") })
    let blockingDispatcher = BlockingDispatcher(
        applications: applications, reporter: reporter, replyTopics: options.replyTopic,
        capacity: options.blockingWorkers * 64, logger: logger)
    let blockingLane = BlockingLaneService(
        configuration: BlockingLaneService.Configuration(consumer: KafkaConsumerConfiguration(
            kafka: connection.configuration, groupId: "\(options.group)-blocking", topics: [options.requestTopic], drainTimeout: options.drainTimeout)),
        dispatcher: blockingDispatcher, applications: applications, logger: logger, onConsuming: { readiness.markReady("blocking") })
    let gates = [registryRead, directoryPushed]
    services += [GatedService(gates: gates, service: service), GatedService(gates: gates, service: blockingLane)]
    if let admin = options.admin {
        let (host, port) = try parseListenAddress(admin, flag: "--admin")
        services.append(AdminServer.application(host: host, port: port, readiness: readiness, logger: logger) {
            laneMetrics(events: service.statistics, blocking: blockingDispatcher, applications: applications)
        })
    }
    // The drain gets the whole timeout; committing, leaving the group, stopping the workers and flushing
    // take the next seconds; past 4.5 s more, chatfn ends itself.
    startupSignals.exitAtLatest(options.drainTimeout + .milliseconds(4_500), logger: logger)
    try await startupSignals.run(serviceGroup(services, finite: finiteServices, shutdownBound: options.drainTimeout + .seconds(4), logger: logger))
    for close in closers { await close() }
}

/// The application of a functions directory, its runtime installed and its pools sized.
private func serveDirectory(_ directory: String, options: LaneOptions, logger: Logger) async throws -> ServedApplication {
    let catalog = try await FunctionCatalog(directory: directory, logger: logger)
    try await catalog.prepareRuntime()
    let appId = options.app ?? catalog.manifest.app ?? CloudEventAttributes.defaultAppId
    let workerConfiguration = try await catalog.workerConfiguration()
    if workerConfiguration.sandbox == nil {
        logger.warning("Node older than 20: functions run without file-system confinement")
    }
    warnAboutIsolation(logger: logger)
    return ServedApplication(id: appId, catalog: catalog, worker: workerConfiguration, eventMinWarm: 1, eventWorkers: options.workers,
                             blockingWorkers: options.blockingWorkers, logger: logger)
}

private func warnAboutIsolation(logger: Logger) {
    if !WorkerIsolation.workersDieWithChatfn {
        logger.warning("setpriv (util-linux) not found: if chatfn is killed, a worker whose function never ends outlives it")
    }
    Task {
        guard !(await WorkerIsolation.detected()).hasNamespaces else { return }
        logger.warning("""
            no PID or mount namespaces for workers (needs root, or unprivileged user namespaces): functions could signal \
            chatfn's processes, and scratch directories are bounded per file only (docs/security.md)
            """)
    }
}

/// What `/metrics` reports.
func laneMetrics(events: DispatchStatistics, blocking: BlockingDispatcher, applications: any ApplicationLookup) -> [Metric] {
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
    let served = applications.served
    metrics.append(Metric("chatfn_applications_served", .gauge, help: "Applications with worker processes now.", value: Double(served.count)))
    for lane in WorkerLane.allCases {
        let live = served.reduce(0) { $0 + $1.pools(for: lane).workers.count }
        metrics.append(Metric("chatfn_workers", .gauge, help: "Live Node worker processes.", labels: ["pool": lane.rawValue], value: Double(live)))
    }
    return metrics
}
