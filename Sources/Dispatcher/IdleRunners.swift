import Synchronization

/// Long-lived tasks that run work items one after another, each waiting here for its next when it has
/// none: a new item goes to an idle runner, and a runner is started only when none is idle. Reusing
/// runners spares a task per item (its allocation and slab, its place in the task group, its executor
/// preference record); with many ordering keys nearly every record starts a run of its own.
///
/// An item goes to the runner that became idle last, whatever its event loop (a runner's task stays
/// on the loop it started on; new ones start on the lane's loops in turn). That balances itself: a
/// busier loop finishes its runs later, so its runners come back idle later and new work goes to the
/// other loop's. Idle lists per loop, an item to each loop in turn, cost more CPU per event in
/// `ChatfnBench --lane-only --keys 10000` (median 1.98 against 1.72 s per 100,000 events; fewer
/// wake-ups crossing threads is the likely reason). Runners stay until ``close()``: as many as ran at
/// once at the peak, about the consumer's in-flight limit.
final class IdleRunners<Item: Sendable>: Sendable {
    private struct State {
        /// Runners waiting for an item, the last to become idle at the end.
        var waiting: [UnsafeContinuation<Item?, Never>] = []
        var closed = false
    }

    private let state = Mutex(State())

    /// Hands `item` to an idle runner; false when none is: the caller starts one with it.
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

    /// Runners waiting for an item.
    var idleCount: Int { state.withLock { $0.waiting.count } }

    /// Ends every runner: those idle now, and each one as it becomes idle.
    func close() {
        let idle = state.withLock { state in
            state.closed = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for runner in idle { runner.resume(returning: nil) }
    }

    /// A runner's first item, taken once: a task's closure would keep what it captured (a record and
    /// its value) for the runner's whole life.
    final class FirstItem: Sendable {
        private let item: Mutex<Item?>

        init(_ item: Item) {
            self.item = Mutex(item)
        }

        func take() -> Item? { item.withLock { $0.take() } }
    }
}
