import ChatfnCore
import Logging
import NIOPosix
import Synchronization

/// Sizing of one application's worker processes.
package struct WorkerPoolConfiguration: Sendable {
    package var worker: WorkerConfiguration
    /// Processes kept started even when idle, so the first invocations do not pay a cold start.
    package var minWarm: Int
    package var maxProcesses: Int
    /// Invocations one process runs at once before the pool prefers another process.
    package var concurrencyPerProcess: Int
    /// Processes are replaced after this many invocations (nil: never), bounding what leaks accumulate.
    package var recycleAfter: Int?
    /// The application these processes serve, as metrics name it.
    package var application = "default"
    /// The lane the processes serve, whose threads carry their pipes and whose scheduling class they run
    /// in; none (a pool outside the lanes) puts them on the shared event loops in chatfn's class.
    package var lane: WorkerLane?

    package init(worker: WorkerConfiguration, minWarm: Int = 1, maxProcesses: Int = 2, concurrencyPerProcess: Int = 64,
                recycleAfter: Int? = nil) {
        self.worker = worker
        self.recycleAfter = recycleAfter.map { max(1, $0) }
        self.maxProcesses = max(1, maxProcesses)
        self.minWarm = min(max(0, minWarm), self.maxProcesses)
        self.concurrencyPerProcess = max(1, concurrencyPerProcess)
    }
}

/// The worker processes of one application: picks the least-loaded live process, starts new ones up to
/// the limit, and replaces processes that died.
package final class WorkerPool: Sendable {
    private enum Choice {
        case use(WorkerProcess)
        case launch(Task<WorkerProcess, any Error>)
        case wait(Task<WorkerProcess, any Error>)
    }

    private struct State {
        var worker: WorkerConfiguration
        var workers: [WorkerProcess] = []
        var launches: [Int: Task<WorkerProcess, any Error>] = [:]
        var nextLaunchId = 0
        var shutDown = false
    }

    package let configuration: WorkerPoolConfiguration
    private let logger: Logger
    private let state: Mutex<State>

    package init(configuration: WorkerPoolConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.state = Mutex(State(worker: configuration.worker))
    }

    /// Starts new processes with `runtime` (a new environment, dependencies, init script) from now on,
    /// keeping this pool's memory limit; current processes finish their invocations and exit.
    package func adopt(_ runtime: WorkerConfiguration) {
        let retiring = state.withLock { state in
            var worker = runtime
            worker.memoryLimitMb = state.worker.memoryLimitMb
            state.worker = worker
            defer { state.workers.removeAll() }
            return state.workers
        }
        retiring.forEach { $0.retire(.runtimeChanged) }
    }

    /// Starts processes until `minWarm` are live.
    package func prewarm() async throws {
        let missing = state.withLock { state in
            state.workers.removeAll { !$0.isAlive }
            return configuration.minWarm - state.workers.count - state.launches.count
        }
        for _ in 0..<max(0, missing) {
            _ = try await startWorker()
        }
    }

    /// Runs `request` on a worker. Never throws: a worker that cannot start yields a `crashed` result.
    package func invoke(_ request: InvocationRequest) async -> InvocationResult {
        do {
            let (worker, cold) = try await acquireWorker()
            let result = await worker.invoke(request, coldStart: cold)
            if let limit = configuration.recycleAfter, worker.invocationsStarted >= limit { retire(worker) }
            worker.endUse()
            return result
        } catch {
            return InvocationResult(
                invocationId: request.invocationId, status: .crashed,
                error: InvocationError(name: "WorkerUnavailable", message: "\(error)"), coldStart: true)
        }
    }

    /// Live processes (for observability and tests).
    package var workers: [WorkerProcess] { state.withLock { $0.workers.filter(\.isAlive) } }

    /// Lets every process finish its in-flight invocations (bounded by `grace`) and stops it.
    package func shutdown(grace: Duration = .seconds(10)) async {
        let (workers, launches) = state.withLock { state in
            state.shutDown = true
            defer { state.workers.removeAll() }
            return (state.workers, state.launches)
        }
        for launch in launches.values {
            if let worker = try? await launch.value { await worker.shutdown(grace: grace) }
        }
        await withTaskGroup(of: Void.self) { group in
            for worker in workers { group.addTask { await worker.shutdown(grace: grace) } }
        }
    }

    /// Takes `worker` out of rotation; it exits once its in-flight invocations are done.
    private func retire(_ worker: WorkerProcess) {
        let removed = state.withLock { state in
            guard let index = state.workers.firstIndex(where: { $0 === worker }) else { return false }
            state.workers.remove(at: index)
            return true
        }
        if removed {
            logger.debug("recycling worker", metadata: ["worker": "\(worker.pid)", "invocations": "\(worker.invocationsStarted)"])
            worker.retire(.recycled)
        }
    }

    /// A live worker in rotation, marked in use (``WorkerProcess/beginUse()``) under the pool's lock, so
    /// that retiring it waits for this caller.
    private func acquireWorker() async throws -> (WorkerProcess, cold: Bool) {
        while true {
            let choice = try state.withLock { state -> Choice in
                guard !state.shutDown else { throw WorkerError.launchFailed("the worker pool is shut down") }
                state.workers.removeAll { !$0.isAlive }
                let leastLoaded = state.workers.min { $0.inFlight < $1.inFlight }
                if let leastLoaded, leastLoaded.inFlight < configuration.concurrencyPerProcess {
                    leastLoaded.beginUse()
                    return .use(leastLoaded)
                }
                if state.workers.count + state.launches.count < configuration.maxProcesses {
                    return .launch(startLaunch(&state))
                }
                if let leastLoaded {
                    leastLoaded.beginUse()
                    return .use(leastLoaded)
                }
                guard let pending = state.launches.values.first else { return .launch(startLaunch(&state)) }
                return .wait(pending)
            }
            switch choice {
            case .use(let worker): return (worker, false)
            case .launch(let launch), .wait(let launch):
                let worker = try await launch.value
                // Retired (a runtime change) between its launch and now: pick again.
                let inRotation = state.withLock { state in
                    guard state.workers.contains(where: { $0 === worker }) else { return false }
                    worker.beginUse()
                    return true
                }
                if inRotation { return (worker, true) }
            }
        }
    }

    private func startWorker() async throws -> WorkerProcess {
        let launch = state.withLock { startLaunch(&$0) }
        return try await launch.value
    }

    /// Begins launching a process; once started it leaves `launches` and joins `workers`.
    private func startLaunch(_ state: inout State) -> Task<WorkerProcess, any Error> {
        let id = state.nextLaunchId
        state.nextLaunchId += 1
        // On the lane's threads: a blocking worker's launch never waits behind the events lane's work.
        let lane = configuration.lane
        let launch = Task<WorkerProcess, any Error>(executorPreference: lane?.threads.executor) { [self] in
            do {
                var processConfiguration = self.state.withLock { $0.worker }
                if let lane { processConfiguration.scheduling = lane.scheduling }
                let worker = try await WorkerProcess.launch(
                    configuration: processConfiguration, eventLoop: lane?.threads.eventLoops.next() ?? MultiThreadedEventLoopGroup.singleton.next(),
                    logger: logger)
                let application = configuration.application
                worker.whenExited { reason in
                    if reason != .shutdown { ChatfnMetrics.workerRestarted(app: application, reason: reason.rawValue) }
                }
                let keep = self.state.withLock { state in
                    state.launches[id] = nil
                    if !state.shutDown { state.workers.append(worker) }
                    return !state.shutDown
                }
                if !keep { await worker.shutdown() }
                return worker
            } catch {
                self.state.withLock { $0.launches[id] = nil }
                logger.error("\(error)")
                throw error
            }
        }
        state.launches[id] = launch
        return launch
    }
}
