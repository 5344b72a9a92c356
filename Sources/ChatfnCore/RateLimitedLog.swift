import Logging
import Synchronization

/// A warning that input from outside can trigger at any rate (refused requests, say): logged at most
/// once per interval, with how many occurrences the line stands for.
package final class RateLimitedLog: Sendable {
    private struct State {
        var lastLogged: ContinuousClock.Instant?
        var suppressed = 0
    }

    private let logger: Logger
    private let interval: Duration
    private let state = Mutex(State())

    package init(logger: Logger, interval: Duration) {
        self.logger = logger
        self.interval = interval
    }

    package func warning(_ message: String) {
        let now = ContinuousClock.now
        let suppressed: Int? = state.withLock { state in
            if let last = state.lastLogged, now - last < interval {
                state.suppressed += 1
                return nil
            }
            defer { (state.lastLogged, state.suppressed) = (now, 0) }
            return state.suppressed
        }
        guard let suppressed else { return }
        let more = suppressed > 0 ? " (and \(suppressed) more since the last report)" : ""
        logger.warning("\(message.escapingControlCharacters())\(more)")
    }
}
