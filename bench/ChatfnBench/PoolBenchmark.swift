import ChatfnCore
import Foundation
import Logging
import Synchronization
import Workers

/// Warm invocations of a trivial function straight through the worker pool: no Kafka.
enum PoolBenchmark {
    /// Runs `total` invocations with `concurrency` in flight; returns invocations per second.
    static func invocationsPerSecond(functionFile: String, workers: Int, total: Int, concurrency: Int, logger: Logger) async throws -> Double {
        let pool = WorkerPool(
            configuration: WorkerPoolConfiguration(worker: try await productionWorker(), minWarm: workers, maxProcesses: workers, concurrencyPerProcess: 1_024),
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

/// Single-invocation latency, cold start and idle memory of a worker.
enum WorkerBenchmark {
    /// Round trips of one warm invocation at a time, in ms.
    static func warmLatencies(functionFile: String, count: Int, logger: Logger) async throws -> [Double] {
        let worker = try await WorkerProcess.launch(configuration: try await productionWorker(), logger: logger)
        let payload = Array(#"{"t":0,"n":1}"#.utf8)
        var samples: [Double] = []
        for sequence in 0..<count {
            let began = ContinuousClock.now
            _ = await worker.invoke(InvocationRequest(
                invocationId: "warm-\(sequence)", functionFile: functionFile, functionVersion: "v1", trigger: "bench.trivial",
                eventId: "e", appId: "default", payload: payload))
            if sequence >= 100 { samples.append((ContinuousClock.now - began).fractionalMilliseconds) }  // after warm-up
        }
        await worker.shutdown()
        return samples
    }

    /// From spawning a new worker (no dependencies) to its first result, in ms.
    static func coldStarts(functionFile: String, count: Int, logger: Logger) async throws -> [Double] {
        var samples: [Double] = []
        for sequence in 0..<count {
            let began = ContinuousClock.now
            let worker = try await WorkerProcess.launch(configuration: try await productionWorker(), logger: logger)
            _ = await worker.invoke(InvocationRequest(
                invocationId: "cold-\(sequence)", functionFile: functionFile, functionVersion: "v1", trigger: "bench.trivial",
                eventId: "e", appId: "default", payload: Array(#"{"t":0}"#.utf8)))
            samples.append((ContinuousClock.now - began).fractionalMilliseconds)
            await worker.shutdown()
        }
        return samples
    }

    /// Resident memory of a warm, idle worker (after a few invocations), in MB, from /proc: the launched
    /// process and its descendants (with namespaces, `unshare` and its `node` child).
    static func idleResidentMegabytes(functionFile: String, logger: Logger) async throws -> Double {
        let worker = try await WorkerProcess.launch(configuration: try await productionWorker(), logger: logger)
        for sequence in 0..<100 {
            _ = await worker.invoke(InvocationRequest(
                invocationId: "idle-\(sequence)", functionFile: functionFile, functionVersion: "v1", trigger: "bench.trivial",
                eventId: "e", appId: "default", payload: Array(#"{"t":0}"#.utf8)))
        }
        try await Task.sleep(for: .seconds(1))
        let kilobytes = processTree(worker.pid).map(residentKilobytes).reduce(0, +)
        await worker.shutdown()
        return kilobytes / 1024
    }

    private static func processTree(_ pid: Int32) -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        let children = tasks.flatMap { task in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? "").split(separator: " ").compactMap { Int32($0) }
        }
        return [pid] + children.flatMap(processTree)
    }

    private static func residentKilobytes(_ pid: Int32) -> Double {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        return status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
            .flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Double($0) } ?? .nan
    }
}
