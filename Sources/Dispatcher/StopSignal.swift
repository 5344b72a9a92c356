import Foundation
import Synchronization

/// Tells the dispatcher that chatfn is stopping: no new attempt starts, and retry backoffs end early, so
/// that shutdown waits only for invocations already running.
public final class StopSignal: Sendable {
    private struct State {
        var stopped = false
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public var isStopped: Bool { state.withLock { $0.stopped } }

    public func stop() {
        let waiters = state.withLock { state in
            state.stopped = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        waiters.forEach { $0.resume() }
    }

    /// Waits `duration`; false when chatfn began stopping first (or the task was cancelled).
    public func sleep(for duration: Duration) async -> Bool {
        guard !isStopped else { return false }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await Task.sleep(for: duration)) != nil }
            group.addTask {
                await self.waitUntilStopped()
                return false
            }
            let sleptFully = await group.next() ?? false
            group.cancelAll()
            return sleptFully && !isStopped
        }
    }

    /// Returns once ``stop()`` was called, or the task was cancelled.
    public func waitUntilStopped() async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let registered = state.withLock { state in
                    guard !state.stopped, !Task.isCancelled else { return false }
                    state.waiters[id] = continuation
                    return true
                }
                if !registered { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
