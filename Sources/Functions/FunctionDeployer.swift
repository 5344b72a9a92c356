import ChatEvents
import Logging
import ServiceLifecycle
import Workers

/// Deploys what is saved: rescans the functions directory and `chatfn.json` every `interval`. A changed
/// function is picked up by workers on its next event (by version); a changed runtime (environment,
/// dependencies, init script) is installed first and then rolled onto fresh worker processes, and if the
/// install fails the previous runtime keeps serving.
package struct FunctionDeployer: Service {
    private let catalog: FunctionCatalog
    private let pools: [WorkerPool]
    private let installer: RuntimeInstaller
    private let interval: Duration
    private let logger: Logger

    package init(catalog: FunctionCatalog, pools: [WorkerPool], installer: RuntimeInstaller = RuntimeInstaller(),
                interval: Duration = .seconds(1), logger: Logger) {
        self.catalog = catalog
        self.pools = pools
        self.installer = installer
        self.interval = interval
        self.logger = logger
    }

    package func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                await deployChanges()
            }
        }
    }

    /// One rescan; errors are logged, never fatal: what was deployed before keeps serving.
    package func deployChanges() async {
        let runtimeBefore = catalog.manifest.runtime
        do {
            try await catalog.reload()
        } catch {
            logger.error("not deployed: \(error)")
            return
        }
        guard catalog.manifest.runtime != runtimeBefore else { return }
        do {
            try await catalog.prepareRuntime(installer: installer)
            let runtime = try await catalog.workerConfiguration()
            pools.forEach { $0.adopt(runtime) }
            logger.info("runtime deployed: new worker processes take over")
        } catch {
            logger.error("runtime not deployed, the previous one keeps serving: \(error)")
        }
    }
}
