import ChatFunctionsClient
import ChatfnCore
import Dispatcher
import EventConsumer
import Foundation
import Functions
import KafkaClient
import Logging
import ServiceLifecycle
import Synchronization
import Workers

/// The blocking table: round trips at 200 and 1,000 calls/s with no backlog and while a non-blocking
/// backlog drains, beside a bare Kafka request/reply echo on the same broker.
///
/// Every cell gets a chatfn of its own (both lanes) on topics of its own: the embedded broker finds a
/// fetch's position by walking the partition's log, so a cell on the topics of the cells before it
/// would be slower for their records alone, and a cell after a backlog would inherit that backlog's log.
///
/// The events topic is on `eventsBroker`, by default an embedded broker of its own: the embedded broker
/// is one thread that walks a partition's log for every fetch, so on one broker the blocking lane's
/// fetches wait in that thread behind the events lane's; a Kafka broker serves connections from thread
/// pools and finds a fetch's position in an index. `--one-broker` puts everything on one.
struct BlockingTable {
    let broker: EmbeddedKafkaBroker
    /// The broker of the events topics, and a producer to it for the backlog.
    let eventsBroker: EmbeddedKafkaBroker
    let producer: KafkaProducer
    let functionsDirectory: URL
    let workers: Int
    let maxInFlight: Int
    let backlog: Int
    let keys: Int
    let partitions: Int32
    let seconds: Int
    /// The call rates, each a row of the table.
    var rates = [200, 1_000]
    let logger: Logger

    func run() async throws {
        try Data(#"async function handleEvent(event) { return { user: { displayName: event.username } }; }"#.utf8)
            .write(to: functionsDirectory.appendingPathComponent("functions/user.attempted.start_session.js"))
        print("blocking round trips, \(seconds) s of calls per cell (p50/p99/p99.9 in ms), each cell on a chatfn and topics of its own, "
              + (eventsBroker === broker ? "all on one embedded broker:" : "the events topic on an embedded broker of its own:"))
        var cell = 0
        for rate in rates {
            var quiet: Percentiles?
            for draining in [false, true] {
                cell += 1
                let rig = try await BlockingRig.start(table: self, cell: cell)
                let echo = Percentiles(await BlockingBenchmark.pacedCalls(rig.echoClient, trigger: "echo", rate: rate, duration: .seconds(seconds)))
                // With a backlog the echo is measured draining one too: the Kafka round trip's own share of the
                // rise (the caller, the broker and the backlog share this machine's 2 cores).
                let echoDraining = draining ? try await callsWhileDraining(rig, client: rig.echoClient, trigger: "echo", rate: rate) : nil
                let chatfn = draining
                    ? try await callsWhileDraining(rig, client: rig.client, trigger: "user.attempted.start_session", rate: rate)
                    : Percentiles(await BlockingBenchmark.pacedCalls(rig.client, trigger: "user.attempted.start_session", rate: rate, duration: .seconds(seconds)))
                try await rig.shutdown()
                print("  \(rate)/s \(draining ? "backlog draining" : "no backlog"):")
                print("      bare request/reply, no backlog: \(echo.summary(unit: ""))")
                if let echoDraining {
                    print("      bare request/reply, draining:   \(echoDraining.summary(unit: "")) (p99 ×\(ratio(echoDraining.p99, echo.p99)))")
                }
                var verdict = "chatfn p99 ÷ bare p99 (no backlog) = \(ratio(chatfn.p99, echo.p99))"
                if draining, let quiet { verdict += "; over chatfn with no backlog = \(ratio(chatfn.p99, quiet.p99))" }
                print("      chatfn blocking:                \(chatfn.summary(unit: "")); \(verdict)")
                if !draining { quiet = chatfn }
            }
        }
    }

    /// Calls at `rate` only while at least the backlog's worth of events waits or runs: bursts are
    /// published with no call running (the publisher is the chat platform's work, not chatfn's), then
    /// calls go until the lane has drained them, until `seconds` of calls are measured.
    private func callsWhileDraining(_ rig: BlockingRig, client: ChatFunctionsClient, trigger: String, rate: Int) async throws -> Percentiles {
        let publisher = EventPublisher(producer: producer, topic: rig.eventsTopic)
        var samples: [Double] = []
        let ranBeforeBacklog = rig.events.count  // the warm-up's event
        var published = 0
        func outstanding() -> Int { published - (rig.events.count - ranBeforeBacklog) }
        var measured = Duration.zero
        var ranDuringCalls = 0
        while measured < .seconds(seconds) {
            // Top the backlog up to a full one: the lane drains part of each chunk while it is published.
            while outstanding() < backlog {
                try await publisher.burst(10_000, keys: keys, startingAt: published)
                published += 10_000
            }
            let drained = ranBeforeBacklog + published
            let ranBefore = rig.events.count
            let began = ContinuousClock.now
            samples += await BlockingBenchmark.pacedCalls(
                client, trigger: trigger, rate: rate, duration: .seconds(seconds) - measured,
                while: { rig.events.count < drained })
            measured += ContinuousClock.now - began
            ranDuringCalls += rig.events.count - ranBefore
        }
        // What is left drains before the next measurement starts.
        while rig.events.count < ranBeforeBacklog + published { try await Task.sleep(for: .milliseconds(10)) }
        print("      backlog events run during the \(trigger) calls: \(ranDuringCalls) in \(String(format: "%.1f", measured.fractionalSeconds)) s "
              + "(\(Int(Double(ranDuringCalls) / measured.fractionalSeconds)) events/s)")
        return Percentiles(samples)
    }

    private func ratio(_ value: Double, _ reference: Double) -> String {
        guard reference > 0 else { return "n/a" }
        return String(format: "%.2f", value / reference)
    }
}

/// One cell's chatfn: a blocking lane with its one worker, an events lane with `workers` workers, as
/// `chatfn run` starts them, a client for each, and the bare echo.
struct BlockingRig {
    let eventsTopic: String
    let events: CountingReporter
    let client: ChatFunctionsClient
    let echoClient: ChatFunctionsClient
    private let echo: PartitionTail
    private let echoProducer: KafkaProducer
    private let services: ServiceGroup
    private let running: Task<Void, any Error>

    static func start(table: BlockingTable, cell: Int) async throws -> BlockingRig {
        let prefix = "cell\(cell)"
        let (requests, replies, echoRequests, eventsTopic) = ("\(prefix).requests", "\(prefix).replies", "\(prefix).echo", "\(prefix).events")
        for topic in [requests, replies, echoRequests, "\(prefix).echo-replies"] { try table.broker.createTopic(topic, partitions: 1) }
        try table.eventsBroker.createTopic(eventsTopic, partitions: table.partitions)
        let kafka = KafkaConfiguration(bootstrapServers: table.broker.bootstrapServers, properties: EmbeddedKafkaBroker.clientProperties)
        let eventsKafka = KafkaConfiguration(bootstrapServers: table.eventsBroker.bootstrapServers, properties: EmbeddedKafkaBroker.clientProperties)

        let catalog = try await FunctionCatalog(directory: table.functionsDirectory.path, logger: table.logger)
        let worker = try await productionWorker()
        var blockingConfiguration = WorkerPoolConfiguration(worker: worker, minWarm: 1, maxProcesses: 1)
        blockingConfiguration.lane = .blocking
        let blockingPool = WorkerPools(configuration: blockingConfiguration, logger: table.logger)
        var eventConfiguration = WorkerPoolConfiguration(worker: worker, minWarm: table.workers, maxProcesses: table.workers)
        eventConfiguration.lane = .events
        let eventPool = WorkerPools(configuration: eventConfiguration, logger: table.logger)
        let application = SingleApplication(ServedApplication(id: "default", catalog: catalog, events: eventPool, blocking: blockingPool), logger: table.logger)
        let events = CountingReporter(keepsSamples: false)
        let blocking = BlockingLaneService(
            configuration: BlockingLaneService.Configuration(consumer: KafkaConsumerConfiguration(kafka: kafka, groupId: "\(prefix)-blocking", topics: [requests])),
            dispatcher: BlockingDispatcher(applications: application, reporter: CountingReporter(keepsSamples: false), replyTopics: [replies],
                                           capacity: blockingPool.configuration.concurrencyPerProcess, logger: table.logger),
            applications: application, logger: table.logger)
        let nonBlocking = EventLaneService(
            configuration: EventLaneService.Configuration(
                consumer: KafkaConsumerConfiguration(kafka: eventsKafka, groupId: "\(prefix)-events", topics: [eventsTopic], maxInFlight: table.maxInFlight),
                dispatcher: DispatcherConfiguration()),
            applications: application, reporter: events, logger: table.logger)
        let services = ServiceGroup(configuration: ServiceGroupConfiguration(services: [blocking, nonBlocking], logger: table.logger))
        let running = Task { try await services.run() }

        var clientConfiguration = ChatFunctionsClient.Configuration(kafka: kafka)
        clientConfiguration.requestTopic = requests
        clientConfiguration.replyTopic = replies
        let client = try await ChatFunctionsClient.connect(clientConfiguration)
        clientConfiguration.requestTopic = echoRequests
        clientConfiguration.replyTopic = "\(prefix).echo-replies"
        let echoClient = try await ChatFunctionsClient.connect(clientConfiguration)
        let (echo, echoProducer) = try await BlockingBenchmark.startEcho(kafka: kafka, requestTopic: echoRequests)
        // Warm up: the blocking lane's group has formed, its worker is up, the echo answers, and the events
        // lane runs an event (its group joined, its workers up).
        while await client.call(trigger: "user.attempted.start_session", data: Array(#"{"username":"warm"}"#.utf8),
                                timeout: .seconds(10), fallback: .deny).status != "succeeded" {}
        while await echoClient.call(trigger: "echo", data: [], timeout: .seconds(10), fallback: .deny).status != "succeeded" {}
        try await EventPublisher(producer: table.producer, topic: eventsTopic).burst(1, keys: 1, startingAt: -1)
        while events.count < 1 { try await Task.sleep(for: .milliseconds(10)) }
        _ = await BlockingBenchmark.pacedCalls(client, trigger: "user.attempted.start_session", rate: 100, duration: .seconds(1))
        _ = await BlockingBenchmark.pacedCalls(echoClient, trigger: "echo", rate: 100, duration: .seconds(1))
        return BlockingRig(eventsTopic: eventsTopic, events: events, client: client, echoClient: echoClient, echo: echo,
                           echoProducer: echoProducer, services: services, running: running)
    }

    func shutdown() async throws {
        await client.shutdown()
        await echoClient.shutdown()
        await echo.shutdown()
        await echoProducer.shutdown()
        await services.triggerGracefulShutdown()
        try await running.value
    }
}
