import ChatEvents
import Functions
import Logging
import Workers

/// The functions and worker processes of one application being served.
package struct ServedApplication: Sendable {
    package let id: String
    package let catalog: FunctionCatalog
    /// Processes for non-blocking events (nicer: a backlog yields the CPU to blocking requests).
    package let events: WorkerPools
    /// Processes reserved for blocking requests, kept warm.
    package let blocking: WorkerPools

    package init(id: String, catalog: FunctionCatalog, events: WorkerPools, blocking: WorkerPools) {
        self.id = id
        self.catalog = catalog
        self.events = events
        self.blocking = blocking
    }

    /// The application's two lanes of processes for `worker` (its catalog's runtime): the events lane's
    /// nicer, so a backlog yields the CPU to blocking requests, and sized by `chatfn.json` where it
    /// speaks; the blocking lane's reserved and kept warm.
    package init(id: String, catalog: FunctionCatalog, worker: WorkerConfiguration, eventMinWarm: Int, eventWorkers: Int,
                 blockingWorkers: Int, logger: Logger) {
        var events = catalog.poolConfiguration(worker: worker, minWarm: eventMinWarm, maxProcesses: eventWorkers)
        var blocking = WorkerPoolConfiguration(worker: worker, minWarm: blockingWorkers, maxProcesses: blockingWorkers)
        (events.application, blocking.application) = (id, id)
        (events.lane, blocking.lane) = (.events, .blocking)
        self.init(id: id, catalog: catalog, events: WorkerPools(configuration: events, logger: logger),
                  blocking: WorkerPools(configuration: blocking, logger: logger))
    }

    package func pools(for lane: WorkerLane) -> WorkerPools {
        lane == .events ? events : blocking
    }

    /// Starts the warm processes of `lane`: one set per memory limit its functions have (the default
    /// limit when it has none yet). A lane whose workers cannot start still runs (each invocation then
    /// reports why), so this logs rather than throws.
    package func prewarm(_ lane: WorkerLane, logger: Logger) async {
        let functions = catalog.all.filter { BlockingTriggers.isBlocking($0.trigger) == (lane == .blocking) }
        let limits = Set(functions.map(\.settings.memoryLimitMb))
        do {
            try await pools(for: lane).prewarm(memoryLimits: limits.isEmpty ? [FunctionSettings.defaultMemoryMb] : limits)
        } catch {
            logger.error("no warm worker for the \(lane.rawValue) lane of \(id): \(error)")
        }
    }
}

/// What an event's application is to this chatfn.
package enum ApplicationLookupResult: Sendable {
    case served(ServedApplication)
    /// Not served here: its events are dead-lettered as `unknown_application`.
    case unknown
    /// It exists but cannot be started, and why: its events are dead-lettered as
    /// `application_unavailable`, to be replayed once it is fixed.
    case unavailable(String)
}

/// Which applications a chatfn serves and where their events run: one application from a directory
/// (``SingleApplication``), or every application of the registry.
package protocol ApplicationLookup: Sendable {
    /// The application `id` (the events' `ce_appid`), its processes started if it had none.
    func application(_ id: String) async -> ApplicationLookupResult
    /// The applications that have processes now.
    var served: [ServedApplication] { get }
    /// Starts what `lane` keeps warm before it consumes.
    func prewarm(_ lane: WorkerLane) async
    /// Stops `lane`'s processes, each once its in-flight invocations ended or `grace` passed (then it is
    /// killed and they end as crashed).
    func shutdown(_ lane: WorkerLane, grace: Duration) async
}

/// One application, from a functions directory (`--functions DIR`).
package struct SingleApplication: ApplicationLookup {
    package let application: ServedApplication
    private let logger: Logger

    package init(_ application: ServedApplication, logger: Logger) {
        self.application = application
        self.logger = logger
    }

    package func application(_ id: String) async -> ApplicationLookupResult {
        id == application.id ? .served(application) : .unknown
    }

    package var served: [ServedApplication] { [application] }

    package func prewarm(_ lane: WorkerLane) async {
        await application.prewarm(lane, logger: logger)
    }

    package func shutdown(_ lane: WorkerLane, grace: Duration) async {
        await application.pools(for: lane).shutdown(grace: grace)
    }
}
