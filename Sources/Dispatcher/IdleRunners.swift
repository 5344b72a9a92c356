import Synchronization

/// Long-lived tasks that run work items one after another, each waiting here for its next when it has
/// none: an item goes to an idle runner, and a runner is started only when none is idle. Reusing
/// runners spares a task per item (its allocation and slab, its place in the task group, its executor
/// preference record); with many ordering keys nearly every record starts a run of its own.
///
/// An item goes to the runner that became idle last, whatever its event loop (a runner's task stays
/// on the loop it started on; new ones start where the caller says, the lane's loops in turn). That
/// balances itself: a busier loop finishes its runs later, so its runners come back idle later and new
/// work goes to the other loop's; idle lists per loop measured more CPU per event (bench/README.md).
/// Runners stay until ``close()``: as many as ran at once at the peak, about the consumer's in-flight
/// limit.
final class IdleRunners<Item: Sendable>: Sendable {
    private struct State {
        /// Runners waiting for an item, the last to become idle at the end.
        var waiting: [UnsafeContinuation<Item?, Never>] = []
        var closed = false
    }

    private let state = Mutex(State())
    private let body: @Sendable (Item) async -> Void
    private let started = Atomic<Int>(0)

    /// - Parameter body: what a runner does with each item.
    init(_ body: @escaping @Sendable (Item) async -> Void) {
        self.body = body
    }

    /// Runs `item` on an idle runner, or on a new one started in `group` with `executor` as its
    /// preference.
    func run(_ item: Item, in group: inout DiscardingTaskGroup, startingOn executor: @autoclosure () -> (any TaskExecutor)?) {
        // A continuation leaves the list under the lock: it is resumed once, here or by `close`.
        if let idle = state.withLock({ $0.waiting.popLast() }) {
            idle.resume(returning: item)
            return
        }
        started.add(1, ordering: .relaxed)
        // Through a box the runner empties: its closure would keep what it captured (a record and its
        // value) for the runner's whole life.
        let first = FirstItem(item)
        group.addTask(executorPreference: executor()) { [self] in
            var next = first.take()
            while let current = next.take() {
                await body(consume current)  // consumed: an idle runner holds no item
                next = await self.next()
            }
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

    /// Runners waiting for an item, and runners started so far (for tests and observability).
    var idleCount: Int { state.withLock { $0.waiting.count } }
    var startedCount: Int { started.load(ordering: .relaxed) }

    /// A runner's wait for its next item; nil once closed: the runner ends.
    private func next() async -> Item? {
        await withUnsafeContinuation { continuation in
            let closed = state.withLock { state in
                if !state.closed { state.waiting.append(continuation) }
                return state.closed
            }
            if closed { continuation.resume(returning: nil) }
        }
    }

    private final class FirstItem: Sendable {
        private let item: Mutex<Item?>

        init(_ item: Item) {
            self.item = Mutex(item)
        }

        func take() -> Item? { item.withLock { $0.take() } }
    }
}
