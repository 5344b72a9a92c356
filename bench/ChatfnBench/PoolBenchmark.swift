import Foundation
import Logging
import Synchronization
import Workers

/// Warm invocations of a trivial function straight through the worker pool: no Kafka.
enum PoolBenchmark {
    /// Runs `total` invocations with `concurrency` in flight; returns invocations per second.
    static func invocationsPerSecond(functionFile: String, workers: Int, total: Int, concurrency: Int, logger: Logger) async throws -> Double {
        let pool = WorkerPool(
            configuration: WorkerPoolConfiguration(worker: try WorkerConfiguration(), minWarm: workers, maxProcesses: workers, concurrencyPerProcess: 1_024),
            logger: logger)
        try await pool.prewarm()
        let payload = Array(#"{"t":0,"n":1,"user":{"name":"ada"}}"#.utf8)
        let counter = Counter()
        let start = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while true {
                        let sequence = counter.next()
                        guard sequence < total else { return }
                        _ = await pool.invoke(InvocationRequest(
                            invocationId: "bench-\(sequence)", functionFile: functionFile, functionVersion: "v1", trigger: "bench.trivial",
                            eventId: "e-\(sequence)", appId: "default", payload: payload))
                    }
                }
            }
        }
        let elapsed = ContinuousClock.now - start
        await pool.shutdown()
        return Double(total) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}

private final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func next() -> Int { value.add(1, ordering: .relaxed).oldValue }
}
