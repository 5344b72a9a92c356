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
    private let pools: [any AdoptsRuntime]
    private let installer: RuntimeInstaller
    private let interval: Duration
    private let logger: Logger

    package init(catalog: FunctionCatalog, pools: [any AdoptsRuntime], installer: RuntimeInstaller = RuntimeInstaller(),
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
        await catalog.redeploy(to: pools, installer: installer, logger: logger)
    }
}

extension FunctionCatalog {
    /// Reloads the application and, when its runtime or secrets changed, installs the runtime and rolls
    /// it onto fresh processes of `pools`. Errors are logged, never fatal: what was deployed before keeps
    /// serving.
    /// - Parameters:
    ///   - versionNumbers: the registry's numbers of the functions' versions.
    ///   - secrets: the application's secrets, opened; nil: unchanged.
    ///   - retryingRuntime: install a runtime whose install failed before even if it did not change (a
    ///     registry change; a directory rescanned every second waits for the runtime to change instead).
    ///   - functionsLoaded: called once the functions are reloaded (or refused), before the runtime installs.
    package func redeploy(to pools: [any AdoptsRuntime], versionNumbers: [String: Int] = [:], secrets newSecrets: [String: String]? = nil,
                          retryingRuntime: Bool = false, installer: RuntimeInstaller = RuntimeInstaller(), logger: Logger,
                          functionsLoaded: @Sendable () -> Void = {}) async {
        let runtimeBefore = manifest.runtime
        do {
            try await reload(versionNumbers: versionNumbers)
            functionsLoaded()
        } catch {
            functionsLoaded()
            logger.error("not deployed: \(error)")
            return
        }
        let secretsChanged = newSecrets.map { new in secrets.withLock { current in
            defer { current = new }
            return current != new
        } } ?? false
        guard manifest.runtime != runtimeBefore || secretsChanged || (retryingRuntime && runtimeBehind.withLock({ $0 })) else { return }
        do {
            try await prepareRuntime(installer: installer)
            let runtime = try await workerConfiguration()
            pools.forEach { $0.adopt(runtime) }
            runtimeBehind.withLock { $0 = false }
            logger.info("runtime deployed: new worker processes take over")
        } catch {
            runtimeBehind.withLock { $0 = true }
            logger.error("runtime not deployed, the previous one keeps serving (tried again on the next change): \(error)")
        }
    }

    /// Notes that the workers started without the runtime the manifest names (its install failed).
    package func markRuntimeBehind() {
        runtimeBehind.withLock { $0 = true }
    }

    /// Sets the secrets before the first workers start.
    package func setSecrets(_ values: [String: String]) {
        secrets.withLock { $0 = values }
    }

    /// `text` with the value of each of the application's secrets (4 characters or more) replaced by
    /// `[secret NAME]`, as the harness does with what functions print: for what chatfn shows of a
    /// function besides its output (a test's result). Best effort: a transformed value is not found.
    package func maskingSecrets(_ text: String) -> String {
        secrets.withLock { $0 }.filter { $0.value.count >= 4 }.sorted { $0.value.count > $1.value.count }
            .reduce(text) { $0.replacingOccurrences(of: $1.value, with: "[secret \($1.key)]") }
    }
}
