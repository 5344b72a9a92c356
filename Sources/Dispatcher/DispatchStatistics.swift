import Synchronization

/// Counters of what the dispatcher did, for logs, benchmarks and (later) metrics.
public final class DispatchStatistics: Sendable {
    public let invocations = Atomic<Int>(0)
    public let succeeded = Atomic<Int>(0)
    public let retries = Atomic<Int>(0)
    public let deadLettered = Atomic<Int>(0)
    public let skippedNoFunction = Atomic<Int>(0)
    public let abandoned = Atomic<Int>(0)
    /// Dead letters and commands the broker refused for good (too large, invalid, not allowed).
    public let givenUp = Atomic<Int>(0)
    /// Invocations running now (a gauge).
    public let running = Atomic<Int>(0)

    public init() {}

    public var summary: String {
        "invocations=\(invocations.load(ordering: .relaxed)) succeeded=\(succeeded.load(ordering: .relaxed)) "
            + "retries=\(retries.load(ordering: .relaxed)) dead-lettered=\(deadLettered.load(ordering: .relaxed)) "
            + "no-function=\(skippedNoFunction.load(ordering: .relaxed)) abandoned=\(abandoned.load(ordering: .relaxed)) given-up=\(givenUp.load(ordering: .relaxed))"
    }
}
