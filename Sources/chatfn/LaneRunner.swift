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

extension LaneScheduling: ExpressibleByArgument {}

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
    var maxInFlight: Int = KafkaConsumerConfiguration.defaultMaxInFlight

    @Option(name: .long, help: "Serve /healthz, /readyz and /metrics on HOST:PORT (e.g. 0.0.0.0:9090).")
    var admin: String?

    @Option(name: .long, help: "Seconds in-flight functions may finish in after SIGTERM; then what is left is abandoned (uncommitted, so it runs again) and chatfn exits within 5 more seconds.")
    var shutdownTimeout: Int = 25

    @Option(name: .long, help: "How the events lane's threads and workers yield the CPU to blocking requests: nice (10 nicer than chatfn), idle (Linux's SCHED_IDLE: a backlog barely slows blocking requests, but anything busy beside chatfn starves the events lane; for chatfn in a container of its own) or normal (chatfn's own class: no yielding).")
    var eventsLaneClass: LaneScheduling = .nice

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
    LaneScheduling.useForEventsLane(options.eventsLaneClass)  // before the lanes' threads start
    let startupSignals = StartupSignals()
    let kafkaOptions = options.kafkaOptions
    let logger = try kafkaOptions.makeLogger()
    // On SIGTERM both lanes drain at once, for the whole timeout; committing, leaving the group, stopping
    // the workers and flushing take the next seconds; past 4.5 s more (even while still starting), chatfn
    // ends itself.
    startupSignals.exitAtLatest(options.drainTimeout + .milliseconds(4_500), logger: logger)
    PrometheusExport.bootstrap()  // before any metric is made
    var dev: ApplicationSource.DevControl?
    var fromRegistry = false
    if case .registry(let control) = source { (dev, fromRegistry) = (control, true) }
    let connection = try await KafkaConnection.open(kafkaOptions, embeddedWhenUnnamed: dev != nil, topics: options.topics(withRegistry: fromRegistry), logger: logger)
    defer { connection.close() }
    // First in the group, so it stops last and flushes the spans of the last invocations.
    var services: [any Service] = try bootstrapTracing(logger: logger).map { [$0] } ?? []
    /// Services that may end before shutdown: a check, a one-off push.
    var finiteServices: [any Service] = []
    var closers: [@Sendable () async -> Void] = []
    let applications: any ApplicationLookup
    /// What the lanes wait for before they consume: the registry read to its end, and `chatfn dev`'s
    /// first push of its directory.
    let registryRead = StopSignal(), directoryPushed = StopSignal()
    var registryFollower: RegistryFollower?

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
        warnAboutIsolation(eventsLaneClass: options.eventsLaneClass, logger: logger)
        finiteServices.append(RegistryTopicCheck(connection: connection, logger: logger))
        let follower = try await RegistryFollower.start(configuration: connection.configuration)
        registryFollower = follower
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

    // `chatfn dev` prints every invocation; `chatfn run` only at debug level (a line per event is too much
    // for a worker under load), else its failures and a summary a minute.
    let reporter: any InvocationReporter = dev != nil || logger.logLevel <= .debug
        ? ConsoleInvocationReporter() : LoggingInvocationReporter(logger: logger)
    let readiness = Readiness(lanes: ["events", "blocking"])
    let service = EventLaneService(
        configuration: EventLaneService.Configuration(
            consumer: KafkaConsumerConfiguration(kafka: connection.configuration, groupId: options.group, topics: [kafkaOptions.topic],
                                                 maxInFlight: options.maxInFlight, drainTimeout: options.drainTimeout),
            dispatcher: DispatcherConfiguration()),
        applications: applications, reporter: reporter, logger: logger, shutdownBegan: startupSignals.received,
        onConsuming: { readiness.markReady("events") })
    let blockingDispatcher = BlockingDispatcher(
        applications: applications, reporter: reporter, replyTopics: options.replyTopic,
        capacity: options.blockingWorkers * 64, logger: logger)
    let blockingLane = BlockingLaneService(
        configuration: BlockingLaneService.Configuration(consumer: KafkaConsumerConfiguration(
            kafka: connection.configuration, groupId: "\(options.group)-blocking", topics: [options.requestTopic], drainTimeout: options.drainTimeout)),
        dispatcher: blockingDispatcher, applications: applications, logger: logger, shutdownBegan: startupSignals.received,
        onConsuming: { readiness.markReady("blocking") })
    let gates = [registryRead, directoryPushed]
    services += [GatedService(gates: gates, service: service), GatedService(gates: gates, service: blockingLane)]
    if let admin = options.admin {
        let (host, port) = try parseListenAddress(admin, flag: "--admin")
        let follower = registryFollower
        // First, so it stops last: /metrics and /healthz answer while the lanes drain.
        services.insert(AdminServer.application(host: host, port: port, readiness: readiness, logger: logger) {
            refreshLaneMetrics(events: service.statistics, applications: applications, registry: follower)
        }, at: 0)
    }
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
    warnAboutIsolation(eventsLaneClass: options.eventsLaneClass, logger: logger)
    return ServedApplication(id: appId, catalog: catalog, worker: workerConfiguration, eventMinWarm: 1, eventWorkers: options.workers,
                             blockingWorkers: options.blockingWorkers, logger: logger)
}

private func warnAboutIsolation(eventsLaneClass: LaneScheduling, logger: Logger) {
    if !WorkerIsolation.workersDieWithChatfn {
        logger.warning("setpriv (util-linux) not found: if chatfn is killed, a worker whose function never ends outlives it")
    }
    Task {
        let isolation = await WorkerIsolation.detected()
        if eventsLaneClass == .idle && !isolation.hasIdleClass {
            logger.warning("--events-lane-class idle: this machine cannot start workers in SCHED_IDLE (chrt missing or not allowed): the events lane's workers are niced instead")
        }
        guard !isolation.hasNamespaces else { return }
        logger.warning("""
            no PID or mount namespaces for workers (needs root, or unprivileged user namespaces): functions could signal \
            chatfn's processes, and scratch directories are bounded per file only (docs/security.md)
            """)
    }
}

/// Sets the gauges `/metrics` reads rather than counts: what runs now, the workers, the registry read.
func refreshLaneMetrics(events: DispatchStatistics, applications: any ApplicationLookup, registry: RegistryFollower?) {
    ChatfnMetrics.inFlight(events.running.load(ordering: .relaxed))
    let served = applications.served
    ChatfnMetrics.applicationsServed(served.count)
    let reported = LaneMetricsState.reportedWorkers.withLock { $0 }
    var now: Set<String> = []
    for application in served {
        for lane in WorkerLane.allCases {
            ChatfnMetrics.workers(app: application.id, lane: lane.rawValue, count: application.pools(for: lane).workers.count)
            now.insert("\(lane.rawValue)/\(application.id)")
        }
    }
    // An application no longer served (idle, deleted) has no workers, rather than its last count.
    for key in reported.subtracting(now) {
        let (lane, app) = (String(key.prefix { $0 != "/" }), String(key.drop { $0 != "/" }.dropFirst()))
        ChatfnMetrics.workers(app: app, lane: lane, count: 0)
    }
    LaneMetricsState.reportedWorkers.withLock { $0 = now }
    if let registry { ChatfnMetrics.registryVersion(registry.state.appliedOffset + 1) }
}

private enum LaneMetricsState {
    /// `lane/app` of the worker gauges set at the last scrape.
    static let reportedWorkers = Mutex<Set<String>>([])
}
