import CoreMetrics
import Synchronization

/// Every metric chatfn reports, through swift-metrics (the backend is chosen by the command: Prometheus
/// for `--admin`'s `/metrics`). Names and labels follow Prometheus' conventions and docs/operations.md.
/// `app` and `trigger` labels come only from functions that exist (the callers make sure), never from what a
/// record claims, so the series are bounded by the registry's applications and functions.
package enum ChatfnMetrics {
    // MARK: the non-blocking lane

    /// One attempt of a function for an event: `status` is the worker's (succeeded, failed, timeout,
    /// crashed, invalid_event).
    package static func invocationFinished(app: String, trigger: String, status: String, duration: Duration) {
        invocations(app, trigger, status).increment()
        invocationDurations(app, trigger).recordNanoseconds(duration.wholeNanoseconds)
    }

    /// An attempt scheduled again after a failure.
    package static func retried() {
        retries.increment()
    }

    package static func deadLettered(app: String, trigger: String, reason: String) {
        Counter(label: "chatfn_dead_letters_total", dimensions: [("app", app), ("trigger", trigger), ("reason", reason)]).increment()
    }

    /// An event whose trigger has no function: skipped, not an error.
    package static func withoutFunction() {
        eventsWithoutFunction.increment()
    }

    /// An event given up while stopping: not committed, it runs again on the next owner.
    package static func abandoned() {
        eventsAbandoned.increment()
    }

    /// A dead letter or command the broker refused for good (too large, invalid, not allowed).
    package static func givenUp() {
        recordsGivenUp.increment()
    }

    // MARK: the blocking lane

    /// A blocking request answered, from its arrival in chatfn to its reply handed to the producer.
    package static func blockingAnswered(app: String, trigger: String, decision: String, duration: Duration) {
        blockingDurations(app, trigger, decision).recordNanoseconds(duration.wholeNanoseconds)
    }

    /// A blocking request past its deadline when chatfn got to it: not run.
    package static func blockingExpired() {
        expired.increment()
    }

    /// A request answered at once with its trigger's fallback: it could not start before its deadline.
    package static func blockingOverloaded() {
        overloaded.increment()
    }

    /// A request not answered: a reply topic that is not chatfn's, or a partition that does not exist.
    package static func blockingRefused() {
        refused.increment()
    }

    // MARK: consumers, workers, registry

    /// Records of an assigned partition not yet committed by its group (librdkafka's `consumer_lag`);
    /// nil: no longer known here (not assigned), the series goes away.
    package static func consumerLag(topic: String, partition: Int32, records: Int64?) {
        let dimensions = [("topic", topic), ("partition", String(partition))]
        guard let records else {
            Gauge(label: "chatfn_consumer_lag", dimensions: dimensions).destroy()
            return
        }
        Gauge(label: "chatfn_consumer_lag", dimensions: dimensions).record(records)
    }

    /// Non-blocking invocations running now.
    package static func inFlight(_ count: Int) {
        inFlightGauge.record(count)
    }

    /// Applications with worker processes in this chatfn now.
    package static func applicationsServed(_ count: Int) {
        servedGauge.record(count)
    }

    /// Live Node worker processes of an application's lane (`events` or `blocking`).
    package static func workers(app: String, lane: String, count: Int) {
        Gauge(label: "chatfn_workers", dimensions: [("app", app), ("lane", lane)]).record(count)
    }

    /// A worker process ended other than by a shutdown, and is replaced on demand: `recycled`
    /// (recycleAfter), `runtime_changed`, `unresponsive` (killed after a timeout), `crashed` (it died by itself).
    package static func workerRestarted(app: String, reason: String) {
        Counter(label: "chatfn_worker_restarts_total", dimensions: [("app", app), ("reason", reason)]).increment()
    }

    /// The registry's records read so far (the offset of the next one): every process that follows it
    /// reports the same number once caught up, so a lagging one stands out.
    package static func registryVersion(_ nextOffset: Int64) {
        registryGauge.record(nextOffset)
    }

    /// Makes the label-less series now, so that each exists (at 0) before its first event.
    package static func registerUnlabelled() {
        _ = [retries, eventsWithoutFunction, eventsAbandoned, recordsGivenUp, expired, overloaded, refused] as [Counter]
        inFlight(0)
    }

    // The per-event ones, by their labels.
    private static let invocations = MetricHandles { labels in
        Counter(label: "chatfn_invocations_total", dimensions: [("app", labels.first), ("trigger", labels.second), ("status", labels.third)])
    }
    private static let invocationDurations = MetricHandles { labels in
        Timer(label: "chatfn_invocation_duration_seconds", dimensions: [("app", labels.first), ("trigger", labels.second)])
    }
    private static let blockingDurations = MetricHandles { labels in
        Timer(label: "chatfn_blocking_request_duration_seconds",
              dimensions: [("app", labels.first), ("trigger", labels.second), ("decision", labels.third)])
    }

    // The label-less ones, made once.
    private static let retries = Counter(label: "chatfn_retries_total")
    private static let eventsWithoutFunction = Counter(label: "chatfn_events_without_function_total")
    private static let eventsAbandoned = Counter(label: "chatfn_events_abandoned_total")
    private static let recordsGivenUp = Counter(label: "chatfn_records_given_up_total")
    private static let expired = Counter(label: "chatfn_blocking_expired_total")
    private static let overloaded = Counter(label: "chatfn_blocking_overloaded_total")
    private static let refused = Counter(label: "chatfn_blocking_refused_total")
    private static let servedGauge = Gauge(label: "chatfn_applications_served")
    private static let inFlightGauge = Gauge(label: "chatfn_in_flight")
    private static let registryGauge = Gauge(label: "chatfn_registry_version")
}

