import EventConsumer
import Logging
import ServiceLifecycle
import Workers

/// The non-blocking lane as a service: consumes events from Kafka, runs them key-ordered through the
/// dispatcher, and commits each partition up to its contiguous processed prefix.
///
/// On graceful shutdown (SIGTERM, Ctrl-C) it stops fetching, lets in-flight invocations finish
/// (bounded by the consumer's drain timeout), commits, leaves the group, and stops the workers.
public struct ChatFunctionsService: Service {
    private let consumerConfiguration: KafkaConsumerConfiguration
    private let dispatcher: EventDispatcher
    private let catalog: FunctionCatalog
    private let pool: WorkerPool
    private let reloadInterval: Duration?
    private let logger: Logger

    /// - Parameter reloadInterval: how often to rescan the functions directory (nil: never), so that
    ///   saving a function deploys it.
    public init(consumer: KafkaConsumerConfiguration, dispatcher: EventDispatcher, catalog: FunctionCatalog,
                pool: WorkerPool, reloadInterval: Duration? = .seconds(1), logger: Logger) {
        self.consumerConfiguration = consumer
        self.dispatcher = dispatcher
        self.catalog = catalog
        self.pool = pool
        self.reloadInterval = reloadInterval
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await pool.prewarm()
        } catch {
            logger.error("no warm worker: \(error)")
        }
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        logger.info("consuming", metadata: ["topics": "\(consumerConfiguration.topics.joined(separator: ","))", "group": "\(consumerConfiguration.groupId)"])
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await dispatch(consumer) }
            group.addTask {
                try? await gracefulShutdown()
                await consumer.shutdown()
            }
            if let reloadInterval {
                group.addTask { await reloadFunctions(every: reloadInterval) }
            }
            // The first child to end is the dispatch loop (the consumer closed) or the shutdown waiter
            // (which closes the consumer, ending the dispatch loop); either way the consumer is done.
            _ = await group.next()
            await consumer.shutdown()
            group.cancelAll()
        }
        await pool.shutdown()
        logger.info("stopped")
    }

    private func dispatch(_ consumer: KafkaConsumer) async {
        let queues = KeyOrderedQueues()
        await withDiscardingTaskGroup { group in
            for await record in consumer.records {
                guard let first = queues.enqueue(record) else { continue }
                group.addTask {
                    await queues.run(startingWith: first) { record in
                        await dispatcher.process(record)
                        consumer.markProcessed(record)
                    }
                }
            }
        }
    }

    private func reloadFunctions(every interval: Duration) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
                try catalog.reload()
            } catch is CancellationError {
                return
            } catch {
                logger.error("\(error)")
            }
        }
    }
}
