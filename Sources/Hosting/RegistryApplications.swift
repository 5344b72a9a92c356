import ChatEvents
import ChatfnCore
import Dispatcher
import Foundation
import Functions
import Logging
import Registry
import ServiceLifecycle
import Synchronization
import Workers

/// Every application of the registry, served by this worker: an application gets its processes on its
/// first event and loses them after it has been idle for ``Configuration/idleTimeout`` (unless it has
/// a blocking function: a cold start there is felt by a user who is connecting). A change in the
/// registry (a version, a rollback, settings, runtime, secrets) is deployed to the applications
/// served at once; the others read the registry when their next event comes.
///
/// As a service it follows the registry's changes and reaps idle applications until shutdown.
package final class RegistryApplications: ApplicationLookup, Service {
    package struct Configuration: Sendable {
        /// Most processes per application for non-blocking events.
        package var eventWorkers: Int
        /// Processes per application reserved for blocking requests.
        package var blockingWorkers: Int
        /// An application without events for this long gives its processes back.
        package var idleTimeout: Duration

        package init(eventWorkers: Int = 2, blockingWorkers: Int = 1, idleTimeout: Duration = .seconds(300)) {
            self.eventWorkers = eventWorkers
            self.blockingWorkers = blockingWorkers
            self.idleTimeout = idleTimeout
        }
    }

    private struct Hosted {
        var entries: [String: Entry] = [:]
        var launches: [String: Task<ApplicationLookupResult, Never>] = [:]
        /// Applications being redeployed, and whether another change came meanwhile.
        var deploying: [String: Bool] = [:]
        /// Lookups waiting for an application to take up the registry's newer revision, by a number of
        /// their own (so that one can stop waiting alone: its time is up, or it was cancelled).
        var catchingUp: [String: [Int: CheckedContinuation<Bool, Never>]] = [:]
        var nextWaiter = 0
        /// Applications that could not start, at which revision, why, and until when that answer holds
        /// (their events do not each repeat the work: a change, or the time passing, tries again).
        var failures: [String: (revision: Int64, reason: String, until: ContinuousClock.Instant)] = [:]
        var shutDownLanes: Set<WorkerLane> = []
    }

    private struct Entry {
        var served: ServedApplication
        var generation: String
        /// The registry revision whose functions this entry serves (or refused, keeping the ones before).
        var revision: Int64
        var lastUsed: ContinuousClock.Instant
        var hasBlockingFunction: Bool
    }

    private let follower: RegistryFollower
    private let sealer: SecretSealer?
    private let configuration: Configuration
    private let materializer: ApplicationMaterializer
    private let logger: Logger
    private let hosted = Mutex(Hosted())

    /// - Parameter sealer: opens the applications' secrets; nil when this worker has no key (an
    ///   application with secrets then does not start, and says why).
    package init(follower: RegistryFollower, sealer: SecretSealer?, configuration: Configuration, logger: Logger) {
        self.follower = follower
        self.sealer = sealer
        self.configuration = configuration
        self.materializer = ApplicationMaterializer(cacheRoot: RuntimeInstaller().cacheRoot)
        self.logger = logger
    }

    // MARK: ApplicationLookup

    /// An application that the registry changed is looked up only once this worker has taken the change
    /// up: an event published after a save was acknowledged runs what was saved, never the state before it
    /// (the runtime, which installs for longer, is not waited for: the previous one serves meanwhile).
    package func application(_ id: String) async -> ApplicationLookupResult {
        while true {
            let now = ContinuousClock.now
            enum Found { case served(ServedApplication), behind(ServedApplication), launching(Task<ApplicationLookupResult, Never>), unknown, failed(String) }
            let found = hosted.withLock { hosted -> Found in
                if let entry = hosted.entries[id] {
                    hosted.entries[id]?.lastUsed = now
                    return isBehind(entry, in: hosted) ? .behind(entry.served) : .served(entry.served)
                }
                if let launch = hosted.launches[id] { return .launching(launch) }
                guard hosted.shutDownLanes.isEmpty, let application = follower.state.application(id) else { return .unknown }
                if let failure = hosted.failures[id], failure.revision == application.revision, now < failure.until {
                    return .failed(failure.reason)
                }
                let launch = Task { await self.launch(application) }
                hosted.launches[id] = launch
                return .launching(launch)
            }
            switch found {
            case .served(let served): return .served(served)
            case .behind(let served):
                // Not taken up in time (a deploy stuck behind a long runtime install), or the caller
                // stopped waiting: what serves now answers.
                guard await waitUntilCaughtUp(id) else { return .served(served) }
            case .launching(let launch):
                // Looked up again: a change that came while it started is deployed before it serves.
                let launched = await launch.value
                guard case .served = launched else { return launched }
            case .unknown: return .unknown
            case .failed(let reason): return .unavailable(reason)
            }
        }
    }

    /// Whether the registry has a revision of `entry`'s application that it has not taken up yet.
    /// Called under the lock. A lookup that finds it so starts a deploy (or folds into the one in flight),
    /// whose end wakes it.
    private func isBehind(_ entry: Entry, in hosted: Hosted) -> Bool {
        // Deleted: behind until the deploy that stops serving it.
        guard let revision = follower.revision(of: entry.served.id) else { return true }
        return revision > entry.revision
    }

    /// How long a lookup waits for its application to take a change up before it is served as it is.
    static let catchUpWait: Duration = .seconds(10)

    /// Waits until a deploy of `id` ended; false when ``catchUpWait`` passed first or the task was cancelled.
    private func waitUntilCaughtUp(_ id: String) async -> Bool {
        let waiter = hosted.withLock { hosted in
            defer { hosted.nextWaiter += 1 }
            return hosted.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let waits = hosted.withLock { hosted -> Bool in
                    guard !Task.isCancelled, let entry = hosted.entries[id], isBehind(entry, in: hosted) else { return false }
                    hosted.catchingUp[id, default: [:]][waiter] = continuation
                    return true
                }
                guard waits else { return continuation.resume(returning: !Task.isCancelled) }
                deploy(id)
                // A deadline, not synchronization: the deploy's end wakes the waiter, or this does.
                Task { [self] in
                    try? await Task.sleep(for: Self.catchUpWait)
                    stopWaiting(waiter, for: id)
                }
            }
        } onCancel: {
            stopWaiting(waiter, for: id)
        }
    }

    private func stopWaiting(_ waiter: Int, for id: String) {
        let continuation = hosted.withLock { $0.catchingUp[id]?.removeValue(forKey: waiter) }
        continuation?.resume(returning: false)
    }

    /// Wakes the lookups waiting for `id`; each checks again.
    private func wakeLookups(of id: String) {
        let waiters = hosted.withLock { $0.catchingUp.removeValue(forKey: id) ?? [:] }
        for waiter in waiters.values { waiter.resume(returning: true) }
    }

    package var served: [ServedApplication] {
        hosted.withLock { $0.entries.values.map(\.served) }.sorted { $0.id < $1.id }
    }

    /// The blocking lane's warm processes: every application with a blocking function starts now, in
    /// the background (a cold start there is felt by a user who is connecting); the others start on their
    /// first event.
    package func prewarm(_ lane: WorkerLane) async {
        guard lane == .blocking else { return }
        let withBlocking = follower.state.applications.values.filter(Self.hasBlockingFunction).map(\.id).sorted()
        guard !withBlocking.isEmpty else { return }
        Task {
            for id in withBlocking { _ = await application(id) }
        }
    }

    package func shutdown(_ lane: WorkerLane, grace: Duration) async {
        let pools = hosted.withLock { hosted in
            hosted.shutDownLanes.insert(lane)
            return hosted.entries.values.map { $0.served.pools(for: lane) }
        }
        await withDiscardingTaskGroup { group in
            for pool in pools { group.addTask { await pool.shutdown(grace: grace) } }
        }
        if hosted.withLock({ $0.shutDownLanes.count == WorkerLane.allCases.count }) { materializer.removeAll() }
    }

    // MARK: Service

    package func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.reapIdleApplications() }
                group.addTask {
                    for await id in self.follower.changes {
                        self.deploy(id)
                        self.startIfBlocking(id)
                    }
                }
            }
        }
    }

    // MARK: starting and deploying

    private func launch(_ application: RegistryState.Application) async -> ApplicationLookupResult {
        let id = application.id
        defer { hosted.withLock { _ = $0.launches.removeValue(forKey: id) } }
        do {
            let directory = try materializer.write(application)
            let catalog = try await FunctionCatalog(
                directory: directory, versionNumbers: ApplicationMaterializer.versionNumbers(of: application), logger: applicationLogger(id))
            catalog.setSecrets(try openSecrets(of: application))
            do {
                try await catalog.prepareRuntime()
            } catch {
                catalog.markRuntimeBehind()
                logger.error("application \(id): runtime dependencies not installed, its functions run without them until a change installs them: \(error)")
            }
            let served = ServedApplication(
                id: id, catalog: catalog, worker: try await catalog.workerConfiguration(), eventMinWarm: 0,
                eventWorkers: configuration.eventWorkers, blockingWorkers: configuration.blockingWorkers, logger: logger)
            let hasBlocking = Self.hasBlockingFunction(application)
            let registered = hosted.withLock { hosted in
                guard hosted.shutDownLanes.isEmpty else { return false }  // chatfn stopped while this one started
                hosted.entries[id] = Entry(served: served, generation: application.generation, revision: application.revision,
                                           lastUsed: .now, hasBlockingFunction: hasBlocking)
                return true
            }
            guard registered else {
                await served.events.shutdown()
                await served.blocking.shutdown()
                return .unavailable("chatfn is stopping")
            }
            logger.info("serving application \(id)", metadata: ["functions": "\(application.deployed.count)"])
            if hasBlocking { Task { await served.prewarm(.blocking, logger: logger) } }
            // A change that came while this one started: deploy it now.
            if follower.state.application(id)?.revision != application.revision { deploy(id) }
            return .served(served)
        } catch {
            logger.error("application \(id) cannot be served: \(error)")
            hosted.withLock { $0.failures[id] = (application.revision, "\(error)", .now + Self.failureHold) }
            return .unavailable("\(error)")
        }
    }

    /// Deploys the registry's current state of `id` if it is served; changes that come while one
    /// deploys are folded into one more deploy after it.
    private func deploy(_ id: String) {
        let start = hosted.withLock { hosted -> Bool in
            guard hosted.entries[id] != nil || hosted.launches[id] != nil else { return false }
            if hosted.deploying[id] != nil {
                hosted.deploying[id] = true
                return false
            }
            hosted.deploying[id] = false
            return true
        }
        guard start else { return }
        // High priority: lookups of either lane may wait for it. (`chatfn` runs Swift's tasks on NIO's
        // shared loops, which run jobs in order; the priority is for executors that order by it.)
        Task(priority: .high) {
            repeat {
                await deployCurrentState(of: id)
            } while hosted.withLock { hosted in
                let again = hosted.deploying[id] == true
                if again { hosted.deploying[id] = false } else { hosted.deploying[id] = nil }
                return again
            }
            wakeLookups(of: id)
        }
    }

    private func deployCurrentState(of id: String) async {
        guard let entry = hosted.withLock({ $0.entries[id] }) else { return wakeLookups(of: id) }
        guard let application = follower.state.application(id), application.generation == entry.generation else {
            await stopServing(id, reason: "deleted from the registry")
            return
        }
        // From here on, lookups get this revision: its functions once loaded, or the previous ones if it
        // was refused (logged). The runtime may still be installing; the previous one serves meanwhile.
        let takenUp: @Sendable () -> Void = { [self] in
            hosted.withLock { hosted in
                guard var entry = hosted.entries[id], entry.generation == application.generation else { return }
                entry.revision = max(entry.revision, application.revision)
                hosted.entries[id] = entry
            }
            wakeLookups(of: id)
        }
        do {
            _ = try materializer.write(application)
            await entry.served.catalog.redeploy(
                to: [entry.served.events, entry.served.blocking], versionNumbers: ApplicationMaterializer.versionNumbers(of: application),
                secrets: try openSecrets(of: application), retryingRuntime: true, logger: applicationLogger(id), functionsLoaded: takenUp)
            let hasBlocking = Self.hasBlockingFunction(application)
            hosted.withLock { $0.entries[id]?.hasBlockingFunction = hasBlocking }
        } catch {
            takenUp()
            logger.error("application \(id): the registry's change was not deployed, the previous one keeps serving: \(error)")
        }
    }

    /// Stops serving `id` when `condition` holds of it, checked under the lock that lookups take.
    private func stopServing(_ id: String, reason: String, if condition: (Entry) -> Bool = { _ in true }) async {
        let entry = hosted.withLock { hosted -> Entry? in
            guard let entry = hosted.entries[id], condition(entry) else { return nil }
            return hosted.entries.removeValue(forKey: id)
        }
        wakeLookups(of: id)
        guard let entry else { return }
        logger.info("stopped serving application \(id): \(reason)")
        await entry.served.events.shutdown()
        await entry.served.blocking.shutdown()
        materializer.remove(id)
    }

    private func reapIdleApplications() async {
        let interval = min(max(configuration.idleTimeout / 4, .milliseconds(100)), .seconds(30))
        while (try? await Task.sleep(for: interval)) != nil, !Task.isCancelled {
            let now = ContinuousClock.now
            let idle = hosted.withLock { hosted in
                hosted.entries.filter { !$0.value.hasBlockingFunction && now - $0.value.lastUsed > configuration.idleTimeout }.map(\.key)
            }
            for id in idle.sorted() {
                // Looked up again since the list was made: used meanwhile, it stays.
                await stopServing(id, reason: "idle for \(configuration.idleTimeout)") { entry in
                    !entry.hasBlockingFunction && ContinuousClock.now - entry.lastUsed > self.configuration.idleTimeout
                }
            }
        }
    }

    private func openSecrets(of application: RegistryState.Application) throws -> [String: String] {
        guard !application.secrets.isEmpty else { return [:] }
        guard let sealer else {
            throw SecretError("it has secrets and this chatfn has no CHATFN_SECRETS_KEY to open them")
        }
        var opened: [String: String] = [:]
        for (name, secret) in application.secrets {
            opened[name] = try sealer.open(secret.sealed, application: application.id, name: name)
        }
        return opened
    }

    /// How long an application that could not start answers so without trying again (unless it changes).
    static let failureHold: Duration = .seconds(30)

    /// Starts `id` when it is not served and has a blocking function (deployed just now, or created).
    private func startIfBlocking(_ id: String) {
        guard let application = follower.state.application(id), Self.hasBlockingFunction(application),
              hosted.withLock({ $0.entries[id] == nil && $0.launches[id] == nil && $0.shutDownLanes.isEmpty }) else { return }
        Task { _ = await self.application(id) }
    }

    private func applicationLogger(_ id: String) -> Logger {
        var logger = logger
        logger[metadataKey: "app"] = "\(id)"
        return logger
    }

    private static func hasBlockingFunction(_ application: RegistryState.Application) -> Bool {
        application.deployed.contains { BlockingTriggers.isBlocking($0.trigger) }
    }
}
