import Foundation
import Synchronization

/// The one thread every worker is spawned from, one at a time. Workers get a parent-death signal, which
/// Linux sends when the *thread* that spawned them ends: a thread of a pool can end while its workers
/// run, this one lives as long as chatfn.
final class LauncherThread: @unchecked Sendable {  // `jobs` is guarded by `condition`
    static let shared = LauncherThread()

    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []

    private init() {
        let thread = Thread { [self] in loop() }
        thread.name = "chatfn-launcher"
        thread.start()
    }

    /// Runs `body` on the launcher thread and returns its result; the caller waits.
    func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) throws -> Result {
        let outcome = Mutex<Swift.Result<Result, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        condition.lock()
        jobs.append {
            let result = Swift.Result { try body() }
            outcome.withLock { $0 = result }
            done.signal()
        }
        condition.signal()
        condition.unlock()
        done.wait()
        // Set before `done` was signalled.
        return try outcome.withLock { $0 }.map { try $0.get() } ?? { throw WorkerError.launchFailed("the launcher thread gave no result") }()
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
