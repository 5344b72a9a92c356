import ChatEvents
import Foundation
import Functions
import Testing
import Workers

/// Runs `body` with a one-process pool serving the fixture's application as `chatfn dev` would (its
/// catalog, runtime and isolation), then stops the pool and removes the fixture.
func withApplicationPool(_ fixture: FunctionsFixture, recycleAfter: Int? = nil,
                         _ body: (WorkerPool, FunctionCatalog) async throws -> Void) async throws {
    defer { fixture.remove() }
    let catalog = try await FunctionCatalog(directory: fixture.root.path, logger: testLogger)
    // One process for every function of the fixture: its memory limit is the largest they set.
    var worker = try await catalog.workerConfiguration()
    worker.memoryLimitMb = catalog.all.compactMap(\.settings.memoryMb).max() ?? worker.memoryLimitMb
    let pool = WorkerPool(
        configuration: WorkerPoolConfiguration(worker: worker, minWarm: 1, maxProcesses: 1, recycleAfter: recycleAfter),
        logger: testLogger)
    try await body(pool, catalog)
    await pool.shutdown()
}

/// Runs the catalog's function for `trigger` once on `data`.
func invoke(_ pool: WorkerPool, _ catalog: FunctionCatalog, _ trigger: String, data: String = "{}",
            timeout: Duration = .seconds(10)) async throws -> InvocationResult {
    let function = try #require(catalog.function(for: trigger))
    return await pool.invoke(function.invocation(
        id: UUID().uuidString, event: CloudEventAttributes(id: "e", type: trigger, source: "tests"), mode: .binary,
        attempt: 1, timeout: timeout, payload: Array(data.utf8)))
}
