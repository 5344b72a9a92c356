import Functions
import ChatEvents
import KafkaClient
import EventConsumer
import Logging
import ServiceLifecycle
import Workers

/// Runs `consume` (a loop over the consumer's records) until the record stream ends. On graceful
/// shutdown it calls `stopStarting` (no new work) and shuts the consumer down, which drains, commits,
/// and ends the stream, so `consume` returns. Both lanes run this way.
func consumeUntilShutdown(_ consumer: KafkaConsumer, stopStarting: @escaping @Sendable () -> Void = {},
                          _ consume: @escaping @Sendable () async -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        group.addTask { await consume() }
        group.addTask {
            try? await gracefulShutdown()
            stopStarting()
            await consumer.shutdown()
        }
        // The first child to end is the consume loop (the consumer closed) or the shutdown waiter (which
        // closed the consumer, ending the loop); either way the consumer is done.
        _ = await group.next()
        stopStarting()
        await consumer.shutdown()
        group.cancelAll()
    }
}
