import Logging
import Synchronization

/// What takes a new runtime (environment, dependencies, secrets): a pool, or a lane's pools.
package protocol AdoptsRuntime: Sendable {
    /// Starts new processes with `runtime` from now on; current processes finish and exit.
    func adopt(_ runtime: WorkerConfiguration)
}

extension WorkerPool: AdoptsRuntime {}

/// One lane's worker processes of an application: a ``WorkerPool`` per memory limit, since a process
/// has one and `memoryMb` is set per function. Pools start when a function of their limit first runs.
package final class WorkerPools: AdoptsRuntime {
    private struct State {
        var template: WorkerPoolConfiguration
        var pools: [Int: WorkerPool] = [:]
        var shutDown = false
    }

    private let state: Mutex<State>
    private let logger: Logger

    /// - Parameter configuration: every pool's sizing and processes, but for the memory limit.
    package init(configuration: WorkerPoolConfiguration, logger: Logger) {
        state = Mutex(State(template: configuration))
        self.logger = logger
    }

    /// The pool whose processes have `memoryMb`.
    package func pool(memoryMb: Int) -> WorkerPool {
        state.withLock { state in
            if let pool = state.pools[memoryMb] { return pool }
            var configuration = state.template
            configuration.worker.memoryLimitMb = memoryMb
            let pool = WorkerPool(configuration: configuration, logger: logger)
            state.pools[memoryMb] = pool
            return pool
        }
    }

    /// Runs `request` in the pool of `memoryMb`; once these pools are shut down, a `crashed` result.
    package func invoke(_ request: InvocationRequest, memoryMb: Int) async -> InvocationResult {
        guard !state.withLock({ $0.shutDown }) else {
            return InvocationResult(invocationId: request.invocationId, status: .crashed,
                                    error: InvocationError(name: "WorkerUnavailable", message: "the application's workers are stopped"), coldStart: false)
        }
        return await pool(memoryMb: memoryMb).invoke(request)
    }

    package func adopt(_ runtime: WorkerConfiguration) {
        let pools = state.withLock { state in
            state.template.worker = runtime
            return Array(state.pools.values)
        }
        pools.forEach { $0.adopt(runtime) }
    }

    /// Starts the warm processes of the pools of `memoryLimits`.
    package func prewarm(memoryLimits: Set<Int>) async throws {
        for memoryMb in memoryLimits.sorted() { try await pool(memoryMb: memoryMb).prewarm() }
    }

    /// Stops every process, each once its in-flight invocations ended or `grace` passed.
    package func shutdown(grace: Duration = .seconds(10)) async {
        let pools = state.withLock { state in
            state.shutDown = true
            return Array(state.pools.values)
        }
        await withDiscardingTaskGroup { group in
            for pool in pools { group.addTask { await pool.shutdown(grace: grace) } }
        }
    }

    /// Live processes of every pool.
    package var workers: [WorkerProcess] {
        state.withLock { Array($0.pools.values) }.flatMap(\.workers)
    }

    package var configuration: WorkerPoolConfiguration { state.withLock { $0.template } }
}
