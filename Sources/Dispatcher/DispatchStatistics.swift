import KafkaClient
import ChatEvents
import Functions
import Synchronization

/// Counters of what the dispatcher did, for logs, benchmarks and (later) metrics.
package final class DispatchStatistics: Sendable {
    package let invocations = Atomic<Int>(0)
    package let succeeded = Atomic<Int>(0)
    package let retries = Atomic<Int>(0)
    package let deadLettered = Atomic<Int>(0)
    package let skippedNoFunction = Atomic<Int>(0)
    package let abandoned = Atomic<Int>(0)
    /// Dead letters and commands the broker refused for good (too large, invalid, not allowed).
    package let givenUp = Atomic<Int>(0)
    /// Invocations running now (a gauge).
    package let running = Atomic<Int>(0)

    package init() {}

    package var summary: String {
        "invocations=\(invocations.load(ordering: .relaxed)) succeeded=\(succeeded.load(ordering: .relaxed)) "
            + "retries=\(retries.load(ordering: .relaxed)) dead-lettered=\(deadLettered.load(ordering: .relaxed)) "
            + "no-function=\(skippedNoFunction.load(ordering: .relaxed)) abandoned=\(abandoned.load(ordering: .relaxed)) given-up=\(givenUp.load(ordering: .relaxed))"
    }
}
