import ChatfnCore
import Functions
import ChatEvents
import KafkaClient
import EventConsumer
import Logging
import ServiceLifecycle
import Workers

/// Runs `consume` (a loop over the consumer's records) until the record stream ends. On graceful
/// shutdown it calls `stopStarting` (no new work) and shuts the consumer down, which drains (within the
/// consumer's drain timeout), commits, and ends the stream; then `giveUp` ends what still runs (it was
/// not committed: its next owner runs it again), so `consume` returns. Both lanes run this way.
/// - Parameter shutdownBegan: fires when the process was asked to stop: every lane then drains at once,
///   not one after the other as the service group would tell them.
func consumeUntilShutdown(_ consumer: KafkaConsumer, shutdownBegan: StopSignal?, stopStarting: @escaping @Sendable () -> Void = {},
                          giveUp: @escaping @Sendable () async -> Void = {}, _ consume: @escaping @Sendable () async -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        group.addTask { await consume() }
        group.addTask {
            await withTaskGroup(of: Void.self) { either in
                either.addTask { try? await gracefulShutdown() }
                if let shutdownBegan { either.addTask { await shutdownBegan.waitUntilStopped() } }
                _ = await either.next()
                either.cancelAll()
            }
            stopStarting()
            await consumer.shutdown()
            await giveUp()
        }
        // The first child to end is the consume loop (the consumer closed) or the shutdown waiter (which
        // closed the consumer, ending the loop); either way the consumer is done.
        _ = await group.next()
        stopStarting()
        await consumer.shutdown()
        await giveUp()
        group.cancelAll()
    }
}
