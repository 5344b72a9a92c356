import Functions
import ChatfnCore
import ChatEvents
import KafkaClient
import EventConsumer
import Logging
import ServiceLifecycle
import Workers

/// The non-blocking lane as a service: consumes events from Kafka, runs them key-ordered through the
/// dispatcher, and commits each partition up to its contiguous processed prefix.
///
/// On graceful shutdown (SIGTERM, Ctrl-C) it starts no new attempt and ends retry backoffs, lets running
/// invocations finish (bounded by the consumer's drain timeout, `--shutdown-timeout`), commits, leaves
/// the group, stops the workers and abandons what still runs or waits on the broker, and flushes what it
/// published (bounded). Records it gave up are not committed: their next owner runs them.
package struct EventLaneService: Service {
    package struct Configuration: Sendable {
        package var consumer: KafkaConsumerConfiguration
        package var dispatcher: DispatcherConfiguration

        package init(consumer: KafkaConsumerConfiguration, dispatcher: DispatcherConfiguration) {
            self.consumer = consumer
            self.dispatcher = dispatcher
        }
    }

    private let configuration: Configuration
    private let applications: any ApplicationLookup
    private let reporter: any InvocationReporter
    private let logger: Logger
    /// What the dispatcher did so far.
    package let statistics: DispatchStatistics
    private let onConsuming: @Sendable () -> Void
    /// Fires when the process is asked to stop (SIGTERM), so both lanes drain at once.
    private let shutdownBegan: StopSignal?

    /// - Parameter onConsuming: called once the consumer is up (readiness).
    package init(configuration: Configuration, applications: any ApplicationLookup, reporter: any InvocationReporter,
                statistics: DispatchStatistics = DispatchStatistics(), logger: Logger, shutdownBegan: StopSignal? = nil,
                onConsuming: @escaping @Sendable () -> Void = {}) {
        self.shutdownBegan = shutdownBegan
        self.configuration = configuration
        self.statistics = statistics
        self.onConsuming = onConsuming
        self.applications = applications
        self.reporter = reporter
        self.logger = logger
    }

    /// Runs on the lane's threads (`LaneThreads`): its Kafka clients are made there, and start their
    /// threads in the lane's scheduling class; its consume loop and all it starts run there.
    package func run() async throws {
        try await withTaskExecutorPreference(LaneThreads.events.executor) { try await runOnLaneThreads() }
    }

    private func runOnLaneThreads() async throws {
        await applications.prewarm(.events)
        let producer = try KafkaProducer(configuration: configuration.consumer.kafka)
        do {
            try await producer.prepare(topics: configuration.dispatcher.outputs.all)
        } catch {
            logger.warning("output topics not ready yet: \(error)")
        }
        let consumer = try KafkaConsumer(configuration: configuration.consumer, logger: logger)
        let stop = StopSignal()
        let dispatcher = EventDispatcher(
            configuration: configuration.dispatcher, applications: applications, producer: producer,
            reporter: reporter, stop: stop, statistics: statistics, logger: logger)
        onConsuming()
        logger.info("consuming", metadata: [
            "topics": "\(configuration.consumer.topics.joined(separator: ","))", "group": "\(configuration.consumer.groupId)",
        ])
        // Once drained: what still waits on the broker is abandoned, and the workers stop (a function
        // still running ends as crashed; its record was not committed).
        let applications = applications
        await consumeUntilShutdown(consumer, shutdownBegan: shutdownBegan, stopStarting: { stop.stop() }, giveUp: {
            producer.abandonDeliveries()
            // The drain is over: what still runs was given up.
            await applications.shutdown(.events, grace: .seconds(1))
        }) { await dispatch(consumer, dispatcher) }
        await producer.shutdown(timeoutMs: Self.flushBoundMs)
        logger.info("stopped", metadata: ["statistics": "\(dispatcher.statistics.summary)"])
        // Stopped on the process's signal, ahead of the service group's order: a service that returns
        // before the group asks it to would end the group as failed.
        if shutdownBegan?.isStopped == true { try? await gracefulShutdown() }
    }

    /// How long the producer may flush what is queued (invocation records) after the drain.
    static let flushBoundMs: Int32 = 2_000

    /// Runs each key's records in order, keys in parallel: a key with no run going starts one, on an
    /// idle runner or a new one (on the lane's loops in turn). Once the records end (a shutdown), the
    /// runs going finish what their keys have queued.
    private func dispatch(_ consumer: KafkaConsumer, _ dispatcher: EventDispatcher) async {
        let queues = KeyOrderedQueues()
        let runners = IdleRunners<RecordLease> { first in
            await queues.run(startingWith: first) { lease in
                switch await dispatcher.process(lease.record, revoked: lease.revocation) {
                case .processed: lease.complete()
                case .abandoned: lease.abandon()
                }
            }
        }
        await withDiscardingTaskGroup { group in
            for await lease in consumer.records {
                guard let first = queues.enqueue(lease) else { continue }
                runners.run(first, in: &group, startingOn: LaneThreads.events.nextLoopExecutor())
            }
            runners.close()
        }
    }
}
