import ChatfnCore
import Functions
import ChatEvents
import KafkaClient
import EventConsumer
import Logging
import ServiceLifecycle
import Workers

/// The blocking lane as a service: its own consumer group on the request topic, its own (reserved) worker
/// pool, low-latency client settings, every request run at once (no per-key ordering: each is an
/// independent question), and a reply per answered request.
package struct BlockingLaneService: Service {
    package struct Configuration: Sendable {
        package var consumer: KafkaConsumerConfiguration

        package init(consumer: KafkaConsumerConfiguration) {
            self.consumer = consumer
        }

        /// Settings for the request consumer that keep requests from waiting in fetch batches.
        package static let lowLatencyProperties: [String: String] = [
            "fetch.wait.max.ms": "5", "fetch.min.bytes": "1", "socket.nagle.disable": "true",
        ]
    }

    private let configuration: Configuration
    private let dispatcher: BlockingDispatcher
    private let applications: any ApplicationLookup
    private let logger: Logger
    private let onConsuming: @Sendable () -> Void
    /// Fires when the process is asked to stop (SIGTERM), so both lanes drain at once.
    private let shutdownBegan: StopSignal?

    /// - Parameter onConsuming: called once the request consumer is up (readiness).
    package init(configuration: Configuration, dispatcher: BlockingDispatcher, applications: any ApplicationLookup, logger: Logger,
                shutdownBegan: StopSignal? = nil, onConsuming: @escaping @Sendable () -> Void = {}) {
        self.shutdownBegan = shutdownBegan
        self.configuration = configuration
        self.onConsuming = onConsuming
        self.dispatcher = dispatcher
        self.applications = applications
        self.logger = logger
    }

    /// Runs on the lane's threads (`LaneThreads`): its Kafka clients are made there, and start their
    /// threads in the lane's scheduling class; its consume loop and all it starts run there.
    package func run() async throws {
        try await withTaskExecutorPreference(LaneThreads.blocking.executor) { try await runOnLaneThreads() }
    }

    private func runOnLaneThreads() async throws {
        await applications.prewarm(.blocking)
        var consumerConfiguration = configuration.consumer
        consumerConfiguration.kafka = KafkaConfiguration(
            bootstrapServers: consumerConfiguration.kafka.bootstrapServers, properties: Configuration.lowLatencyProperties)
            .merging(consumerConfiguration.kafka.properties)
        // Replies go out on a producer of their own, not idempotent (see `KafkaProducer`): a reply is
        // matched by its correlation id, and no reply waits behind another's sequence. Invocation records
        // and dead letters keep their order and lose no duplicate check.
        let replies = try KafkaProducer(configuration: consumerConfiguration.kafka, lowLatency: true, idempotent: false)
        let producer = try KafkaProducer(configuration: consumerConfiguration.kafka)
        await dispatcher.learnReplyPartitions(from: replies)
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        onConsuming()
        logger.info("answering blocking requests", metadata: ["topics": "\(consumerConfiguration.topics.joined(separator: ","))"])
        let stop = StopSignal()
        let replyFailures = RateLimitedLog(logger: logger, interval: .seconds(10))
        let publisher = RecordPublisher(producer: producer, logger: logger) {
            dispatcher.givenUp.add(1, ordering: .relaxed)
            ChatfnMetrics.givenUp()
        }
        let applications = applications
        await consumeUntilShutdown(consumer, shutdownBegan: shutdownBegan, stopStarting: { stop.stop() }, giveUp: {
            replies.abandonDeliveries()
            producer.abandonDeliveries()
            // The drain is over: what still runs was given up.
            await applications.shutdown(.blocking, grace: .seconds(1))
        }) {
            await withDiscardingTaskGroup { requests in
                for await lease in consumer.records {
                    requests.addTask(executorPreference: LaneThreads.blocking.nextLoopExecutor()) {
                        let answer = await dispatcher.answer(lease.record)
                        if let invocationRecord = answer.invocationRecord { producer.sendInBackground(invocationRecord) }
                        if let reply = answer.reply {
                            do {
                                // A reply lost is the caller's timeout: not retried, and not waited for past the drain.
                                try await replies.send(reply)
                            } catch {
                                replyFailures.warning("reply to \(reply.topic)/\(reply.partition ?? 0) failed: \(error)")
                            }
                        }
                        if let deadLetter = answer.deadLetter,
                           await publisher.publish(deadLetter, reduce: DeadLetter.reduced, unlessAnyOf: [stop, lease.revocation]) == .stopped {
                            lease.abandon()
                            return
                        }
                        lease.complete()
                    }
                }
            }
        }
        async let repliesFlushed: Void = replies.shutdown(timeoutMs: EventLaneService.flushBoundMs)
        await producer.shutdown(timeoutMs: EventLaneService.flushBoundMs)
        await repliesFlushed
        logger.info("blocking lane stopped", metadata: ["expired": "\(dispatcher.expired.load(ordering: .relaxed))"])
        // As the events lane: wait for the group's own request before returning.
        if shutdownBegan?.isStopped == true { try? await gracefulShutdown() }
    }
}
