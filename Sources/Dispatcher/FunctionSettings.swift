import EventConsumer

/// A function's limits and retry policy, as `chatfn.json` declares them under `functions.<trigger>`.
/// Every key is optional.
public struct FunctionSettings: Sendable, Decodable, Hashable {
    /// How long one attempt may run.
    public var timeoutMs: Int?
    /// The V8 heap of the application's worker processes is the largest `memoryMb` of its functions.
    public var memoryMb: Int?
    /// Invocations one worker process runs at once before the pool prefers (or starts) another; the
    /// application's processes take the largest `concurrency` of its functions (default 64).
    public var concurrency: Int?
    /// Attempts before the event is dead-lettered (1: no retry).
    public var maxAttempts: Int?
    /// An event older than this (since it was published) is dead-lettered instead of retried.
    public var maxEventAgeMs: Int?
    /// The first retry's backoff; each further retry doubles it, up to `retryBackoffMaxMs`.
    public var retryBackoffMs: Int?
    public var retryBackoffMaxMs: Int?
    /// Blocking triggers: the decision when the function times out, crashes or cannot run.
    public var onFailure: Decision.Verdict?
    /// Blocking triggers: the decision when no function is deployed.
    public var onMissing: Decision.Verdict?

    public init(timeoutMs: Int? = nil, maxAttempts: Int? = nil, maxEventAgeMs: Int? = nil,
                retryBackoffMs: Int? = nil, retryBackoffMaxMs: Int? = nil) {
        self.timeoutMs = timeoutMs
        self.maxAttempts = maxAttempts
        self.maxEventAgeMs = maxEventAgeMs
        self.retryBackoffMs = retryBackoffMs
        self.retryBackoffMaxMs = retryBackoffMaxMs
    }

    public static let defaultTimeout: Duration = .seconds(30)
    public static let defaultMaxAttempts = 3
    public static let defaultMaxEventAge: Duration = .seconds(24 * 3600)
    public static let defaultBackoff: Duration = .seconds(1)
    public static let defaultMaxBackoff: Duration = .seconds(60)

    public var timeout: Duration { timeoutMs.map { .milliseconds($0) } ?? Self.defaultTimeout }

    public var retryPolicy: RetryPolicy {
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
    var problem: String? {
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
public struct RetryPolicy: Sendable, Hashable {
    public var maxAttempts: Int
    public var maxEventAge: Duration
    public var initialBackoff: Duration
    public var maxBackoff: Duration

    /// The wait before attempt `attempt + 1`: exponential, capped, with "equal jitter" (half fixed, half
    /// random) so that keys failing together do not retry in lockstep.
    public func backoff(afterAttempt attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let base = min(initialBackoff * (1 << exponent), maxBackoff)
        let half = base / 2
        return half + half * Double.random(in: 0...1)
    }
}
