import Functions
import Logging
import Workers

/// The functions and worker processes of one application being served.
package struct ServedApplication: Sendable {
    package let id: String
    package let catalog: FunctionCatalog
    /// Processes for non-blocking events (nicer: a backlog yields the CPU to blocking requests).
    package let events: WorkerPool
    /// Processes reserved for blocking requests, kept warm.
    package let blocking: WorkerPool

    package init(id: String, catalog: FunctionCatalog, events: WorkerPool, blocking: WorkerPool) {
        self.id = id
        self.catalog = catalog
        self.events = events
        self.blocking = blocking
    }

    package func pool(for lane: WorkerLane) -> WorkerPool {
        lane == .events ? events : blocking
    }
}

package enum WorkerLane: String, Sendable, CaseIterable {
    case events
    case blocking
}

/// Which applications a chatfn serves and where their events run: one application from a directory
/// (``SingleApplication``), or every application of the registry.
package protocol ApplicationLookup: Sendable {
    /// The application `id` (the events' `ce_appid`), its processes started if it had none; nil when
    /// this chatfn does not serve it (its events are dead-lettered as `unknown application`).
    func application(_ id: String) async -> ServedApplication?
    /// The applications that have processes now.
    var served: [ServedApplication] { get }
    /// Starts what `lane` keeps warm before it consumes.
    func prewarm(_ lane: WorkerLane) async
    /// Stops `lane`'s processes once its consumer has drained.
    func shutdown(_ lane: WorkerLane) async
}

/// One application, from a functions directory (`--functions DIR`).
package struct SingleApplication: ApplicationLookup {
    package let application: ServedApplication
    private let logger: Logger

    package init(_ application: ServedApplication, logger: Logger) {
        self.application = application
        self.logger = logger
    }

    package func application(_ id: String) async -> ServedApplication? {
        id == application.id ? application : nil
    }

    package var served: [ServedApplication] { [application] }

    package func prewarm(_ lane: WorkerLane) async {
        await application.pool(for: lane).prewarm(logger: logger, lane: lane.rawValue)
    }

    package func shutdown(_ lane: WorkerLane) async {
        await application.pool(for: lane).shutdown()
    }
}
