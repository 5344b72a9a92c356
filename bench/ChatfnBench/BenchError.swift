struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

import Workers

/// A worker as chatfn starts them in production: with the machine's isolation (namespaces, limits).
func productionWorker() async throws -> WorkerConfiguration {
    var worker = try WorkerConfiguration()
    worker.isolation = await WorkerIsolation.detected()
    return worker
}
