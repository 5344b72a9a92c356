import ChatfnCore
import DequeModule
import Synchronization

/// How many invocations of each function may run at once (its `concurrency`): the others wait their
/// turn in arrival order.
final class ConcurrencyLimits: Sendable {
    /// A running invocation's claim; given back with ``release(_:)``.
    struct Permit: Sendable {
        fileprivate var key: String?
    }

    private struct Limited {
        var running = 0
        var waiting: Deque<(id: Int, continuation: CheckedContinuation<Bool, Never>)> = []
    }

    private struct State {
        var functions: [String: Limited] = [:]
        var nextWaiterId = 0
    }

    private let state = Mutex(State())

    /// Waits for a permit of `key` (at most `limit` at once; nil: no limit); nil when one of `signals`
    /// stops first.
    /// - Parameter key: made only for a function with a limit (most have none).
    func acquire(_ key: @autoclosure () -> String, limit: Int?, unlessAnyOf signals: [StopSignal]) async -> Permit? {
        guard let limit else { return Permit(key: nil) }
        let key = key()
        let waiterId: Int? = state.withLock { state in
            if state.functions[key, default: Limited()].running < limit {
                state.functions[key, default: Limited()].running += 1
                return nil
            }
            defer { state.nextWaiterId += 1 }
            return state.nextWaiterId
        }
        guard let waiterId else { return Permit(key: key) }
        // A stop ends the wait: the waiter leaves the queue without a permit. The watchers end with the wait.
        let watchers = signals.map { signal in
            Task {
                await signal.waitUntilStopped()
                guard signal.isStopped else { return }
                let removed = self.state.withLock { state -> CheckedContinuation<Bool, Never>? in
                    guard let index = state.functions[key]?.waiting.firstIndex(where: { $0.id == waiterId }) else { return nil }
                    return state.functions[key]?.waiting.remove(at: index).continuation
                }
                removed?.resume(returning: false)
            }
        }
        defer { watchers.forEach { $0.cancel() } }
        let granted = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            // The check and the queueing under one lock: a release in between would find no waiter.
            let immediate: Bool? = state.withLock { state in
                if signals.contains(where: \.isStopped) { return false }
                if state.functions[key, default: Limited()].running < limit {
                    state.functions[key, default: Limited()].running += 1
                    return true
                }
                state.functions[key, default: Limited()].waiting.append((waiterId, continuation))
                return nil
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
        return granted ? Permit(key: key) : nil
    }

    /// Hands the permit to the next waiter of its function, or frees it.
    func release(_ permit: Permit) {
        guard let key = permit.key else { return }
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if let waiter = state.functions[key]?.waiting.popFirst() { return waiter.continuation }
            state.functions[key]?.running -= 1
            if state.functions[key]?.running == 0 { state.functions[key] = nil }
            return nil
        }
        next?.resume(returning: true)
    }
}
