import Foundation

/// A loop on a dedicated thread that calls `iteration` until stopped; `iteration` blocks in librdkafka
/// for at most its poll timeout, which bounds how long `stop()` waits.
package final class PollLoop: @unchecked Sendable {
    // `stopRequested` and `finished` are guarded by `condition`.
    private let condition = NSCondition()
    private var stopRequested = false
    private var finished = false

    package init(name: String, iteration: @escaping @Sendable () -> Void, onExit: @escaping @Sendable () -> Void = {}) {
        let thread = Thread { [self] in
            while !self.isStopRequested { iteration() }
            onExit()
            self.condition.lock()
            self.finished = true
            self.condition.broadcast()
            self.condition.unlock()
        }
        thread.name = name
        thread.start()
    }

    package var isStopRequested: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopRequested
    }

    package func requestStop() {
        condition.lock()
        stopRequested = true
        condition.unlock()
    }

    /// Waits, without blocking a cooperative thread, until the loop has exited.
    package func waitUntilFinished() async {
        _ = try? await DedicatedThread.run(name: "chatfn-poll-join") { [self] in
            self.condition.lock()
            while !self.finished { self.condition.wait() }
            self.condition.unlock()
        }
    }
}
