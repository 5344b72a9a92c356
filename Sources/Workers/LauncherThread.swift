import Foundation

/// The one thread every worker is spawned from, one at a time. Workers get a parent-death signal, which
/// Linux sends when the *thread* that spawned them ends: a thread of a pool can end while its workers
/// run, this one lives as long as chatfn. A child starts in its spawning thread's scheduling class, so
/// this thread is started with the lanes' threads (`LaneThreads`), before any thread of chatfn's leaves
/// chatfn's own class.
final class LauncherThread: @unchecked Sendable {  // `jobs` is guarded by `condition`
    private static let shared = LauncherThread()

    /// Starts the thread, if it is not running yet.
    static func start() { _ = shared }

    /// Runs `body` on the launcher thread, which the lanes' threads started (`LaneThreads`).
    static func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        _ = LaneThreads.blocking
        return try await shared.run(body)
    }

    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []

    private init() {
        let thread = Thread { [self] in loop() }
        thread.name = "chatfn-launcher"
        thread.start()
    }

    /// Runs `body` on the launcher thread and returns its result, without holding the caller's thread.
    private func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            jobs.append { continuation.resume(with: Swift.Result { try body() }) }
            condition.signal()
            condition.unlock()
        }
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
