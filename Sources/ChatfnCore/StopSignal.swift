import Foundation
import Synchronization

/// A one-way signal that work should stop: chatfn is shutting down, or a partition was revoked. No new
/// attempt starts after it fires, and waits (retry backoffs) end early, so that whoever waits for the
/// work to drain waits only for invocations already running.
package final class StopSignal: Sendable {
    private struct State {
        var stopped = false
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    package init() {}

    package var isStopped: Bool { state.withLock { $0.stopped } }

    package func stop() {
        let waiters = state.withLock { state in
            state.stopped = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        waiters.forEach { $0.resume() }
    }

    /// A signal that has already fired.
    package static func stopped() -> StopSignal {
        let signal = StopSignal()
        signal.stop()
        return signal
    }

    /// Waits `duration`; false when this signal fired first (or the task was cancelled).
    package func sleep(for duration: Duration) async -> Bool {
        await Self.sleep(for: duration, unlessAnyOf: [self])
    }

    /// Waits `duration`; false when any of `signals` fired first (or the task was cancelled).
    package static func sleep(for duration: Duration, unlessAnyOf signals: [StopSignal]) async -> Bool {
        guard !signals.contains(where: \.isStopped) else { return false }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await Task.sleep(for: duration)) != nil }
            for signal in signals {
                group.addTask {
                    await signal.waitUntilStopped()
                    return false
                }
            }
            let sleptFully = await group.next() ?? false
            group.cancelAll()
            return sleptFully && !signals.contains(where: \.isStopped)
        }
    }

    /// Returns once ``stop()`` was called, or the task was cancelled.
    package func waitUntilStopped() async {
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
