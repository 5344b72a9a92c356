import Synchronization

/// Long-lived tasks that run work items one after another, each waiting here for its next when it has
/// none: a new item goes to an idle runner, and a runner is started only when none is idle. Reusing
/// runners spares a task per item (its allocation and stack slab, its place in the task group, its
/// executor preference record); with many ordering keys nearly every record starts a run of its own.
///
/// Runners stay until ``close()``: as many as ran at once at the peak, bounded by the consumer's
/// in-flight limit.
final class IdleRunners<Item: Sendable>: Sendable {
    private struct State {
        /// Runners waiting for an item, the last one to finish first (its stack is the warmest).
        var waiting: [UnsafeContinuation<Item?, Never>] = []
        var closed = false
    }

    private let state = Mutex(State())

    /// Hands `item` to an idle runner; false when none is idle: the caller starts a runner with it.
    func handToIdleRunner(_ item: Item) -> Bool {
        // A continuation leaves the list under the lock: it is resumed once, here or by `close`.
        guard let runner = state.withLock({ $0.waiting.popLast() }) else { return false }
        runner.resume(returning: item)
        return true
    }

    /// A runner's wait for its next item; nil once closed: the runner ends.
    func next() async -> Item? {
        await withUnsafeContinuation { continuation in
            let closed = state.withLock { state in
                if !state.closed { state.waiting.append(continuation) }
                return state.closed
            }
            if closed { continuation.resume(returning: nil) }
        }
    }

    /// Ends every runner: those idle now, and each one as it becomes idle.
    func close() {
        let idle = state.withLock { state in
            state.closed = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for runner in idle { runner.resume(returning: nil) }
    }
}
