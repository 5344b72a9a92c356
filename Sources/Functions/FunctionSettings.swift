import ChatEvents

/// A function's limits and retry policy, as `chatfn.json` declares them under `functions.<trigger>`.
/// Every key is optional.
package struct FunctionSettings: Sendable, Codable, Hashable {
    /// How long one attempt may run.
    package var timeoutMs: Int?
    /// The memory of the worker processes this function runs in (its heap and everything else): functions
    /// of one application with different limits run in different processes.
    package var memoryMb: Int?
    /// Invocations of this function running at once in one chatfn (non-blocking lane); more wait for one
    /// to end. Unset: no limit but the lane's.
    package var concurrency: Int?
    /// Attempts before the event is dead-lettered (1: no retry).
    package var maxAttempts: Int?
    /// An event older than this (since it was published) is dead-lettered instead of retried.
    package var maxEventAgeMs: Int?
    /// The first retry's backoff; each further retry doubles it, up to `retryBackoffMaxMs`.
    package var retryBackoffMs: Int?
    package var retryBackoffMaxMs: Int?
    /// Blocking triggers: the decision when the function times out, crashes or cannot run.
    package var onFailure: Decision.Verdict?
    /// Blocking triggers: the decision when no function is deployed.
    package var onMissing: Decision.Verdict?

    package init(timeoutMs: Int? = nil, maxAttempts: Int? = nil, maxEventAgeMs: Int? = nil,
                retryBackoffMs: Int? = nil, retryBackoffMaxMs: Int? = nil) {
        self.timeoutMs = timeoutMs
        self.maxAttempts = maxAttempts
        self.maxEventAgeMs = maxEventAgeMs
        self.retryBackoffMs = retryBackoffMs
        self.retryBackoffMaxMs = retryBackoffMaxMs
    }

    package static let defaultTimeout: Duration = .seconds(30)
    /// Every process has a memory limit: a function that sets none gets this one.
    package static let defaultMemoryMb = 1_024
    package static let defaultMaxAttempts = 3
    package static let defaultMaxEventAge: Duration = .seconds(24 * 3600)
    package static let defaultBackoff: Duration = .seconds(1)
    package static let defaultMaxBackoff: Duration = .seconds(60)

    package var timeout: Duration { timeoutMs.map { .milliseconds($0) } ?? Self.defaultTimeout }

    /// The memory limit of the processes this function runs in.
    package var memoryLimitMb: Int { memoryMb ?? Self.defaultMemoryMb }

    package var retryPolicy: RetryPolicy {
        RetryPolicy(
            maxAttempts: maxAttempts ?? Self.defaultMaxAttempts,
            maxEventAge: maxEventAgeMs.map { .milliseconds($0) } ?? Self.defaultMaxEventAge,
            initialBackoff: retryBackoffMs.map { .milliseconds($0) } ?? Self.defaultBackoff,
            maxBackoff: retryBackoffMaxMs.map { .milliseconds($0) } ?? Self.defaultMaxBackoff)
    }

    /// The documented range of each setting (README, "The chat runtime"): values outside are refused
    /// when `chatfn.json` is read, so nothing downstream computes with them.
    static var bounds: [(key: String, value: KeyPath<FunctionSettings, Int?>, range: ClosedRange<Int>)] { [
        ("timeoutMs", \.timeoutMs, 1...900_000),
        ("memoryMb", \.memoryMb, 64...16_384),
        ("concurrency", \.concurrency, 1...10_000),
        ("maxAttempts", \.maxAttempts, 1...100),
        ("maxEventAgeMs", \.maxEventAgeMs, 1...2_592_000_000),
        ("retryBackoffMs", \.retryBackoffMs, 0...86_400_000),
        ("retryBackoffMaxMs", \.retryBackoffMaxMs, 0...86_400_000),
    ] }

    /// What is wrong with these settings, as `key: reason`; nil when they are usable.
    package var problem: String? {
        if let problem = outOfBounds(self, Self.bounds) { return problem }
        if let retryBackoffMaxMs, retryBackoffMaxMs < (retryBackoffMs ?? 0) {
            return "retryBackoffMaxMs: must not be below retryBackoffMs (got \(retryBackoffMaxMs))"
        }
        return nil
    }
}

/// The first of `bounds` that `value` breaks, as `key: must be between A and B (got N)`.
func outOfBounds<Root>(_ value: Root, _ bounds: [(key: String, value: KeyPath<Root, Int?>, range: ClosedRange<Int>)]) -> String? {
    for bound in bounds {
        if let number = value[keyPath: bound.value], !bound.range.contains(number) {
            return "\(bound.key): must be between \(bound.range.lowerBound) and \(bound.range.upperBound) (got \(number))"
        }
    }
    return nil
}

/// When a failed invocation runs again.
package struct RetryPolicy: Sendable, Hashable {
    package var maxAttempts: Int
    package var maxEventAge: Duration
    package var initialBackoff: Duration
    package var maxBackoff: Duration

    package init(maxAttempts: Int, maxEventAge: Duration, initialBackoff: Duration, maxBackoff: Duration) {
        self.maxAttempts = maxAttempts
        self.maxEventAge = maxEventAge
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// The wait before attempt `attempt + 1`: exponential, capped, with "equal jitter" (half fixed, half
    /// random) so that keys failing together do not retry in lockstep.
    package func backoff(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt, 1), 31) - 1  // no arithmetic on the raw count: it may be any Int
        let base = min(initialBackoff * (1 << exponent), maxBackoff)
        let half = base / 2
        return half + half * Double.random(in: 0...1)
    }
}

extension FunctionSettings {
    /// What a blocking trigger decides when its function cannot: ChatKitty's sign-in hook fails closed;
    /// the moderation hook fails open, so a broken moderator does not silence a chat.
    package func onFailure(for trigger: String) -> Decision.Verdict {
        onFailure ?? (trigger == BlockingTriggers.sendMessage ? .allow : .deny)
    }

    /// What a blocking trigger decides when no function is deployed.
    package var onMissingDecision: Decision.Verdict {
        onMissing ?? .allow
    }
}
