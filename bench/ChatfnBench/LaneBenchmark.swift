import ChatfnCore
import Dispatcher
import Functions
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Workers

/// Counts invocations; when `keepsSamples`, also keeps each one's duration and the latency the trivial
/// function measured from publish to its start (the throughput run does not: its reporter costs no more
/// than `chatfn run`'s).
final class CountingReporter: InvocationReporter {
    let invocations = Atomic<Int>(0)
    let failures = Atomic<Int>(0)
    private let keepsSamples: Bool
    private let latencies = Mutex<[Double]>([])
    let durations = Mutex<[Double]>([])
    private let firstReport = Atomic<Bool>(false)
    private let firstReportAt = Mutex<ContinuousClock.Instant?>(nil)

    init(keepsSamples: Bool = true) {
        self.keepsSamples = keepsSamples
    }

    func invocationFinished(_ report: InvocationReport) {
        if !firstReport.exchange(true, ordering: .relaxed) { firstReportAt.withLock { $0 = .now } }
        if report.result.status != .succeeded { failures.add(1, ordering: .relaxed) }
        if keepsSamples {
            if let value = report.result.value, let latency = Double(String(decoding: value, as: UTF8.self)) {
                latencies.withLock { $0.append(latency) }
            }
            durations.withLock { $0.append(report.result.duration.fractionalMilliseconds) }
        }
        invocations.add(1, ordering: .relaxed)
    }

    func recordSkipped(_ position: RecordPosition, eventId: String, trigger: String) {}
    func recordDeadLettered(_ position: RecordPosition, eventId: String?, reason: DeadLetterReason) {
        failures.add(1, ordering: .relaxed)
    }

    var count: Int { invocations.load(ordering: .relaxed) }
    var startedAt: ContinuousClock.Instant? { firstReportAt.withLock { $0 } }
    func takeLatencies() -> [Double] {
        latencies.withLock { samples in
            defer { samples.removeAll() }
            return samples
        }
    }
}

/// The non-blocking lane in process: consumer group, key-ordered dispatch, Node workers running a
/// trivial function, offsets committed, invocation records published.
struct LaneBenchmark {
    let bootstrap: String
    let functionsDirectory: String
    let logger: Logger
    var extraProperties: [String: String] = [:]
    /// The consumer's in-flight bound: `chatfn run`'s default unless `--max-in-flight` says otherwise.
    var maxInFlight = KafkaConsumerConfiguration.defaultMaxInFlight

    static let trivialFunction = "module.exports = async (event) => (performance.timeOrigin + performance.now()) - event.t;"

    /// Runs the lane on `topic` until `stopWhen` holds, then shuts it down gracefully (committing).
    func run(topic: String, group: String, reporter: CountingReporter, workers: Int, statistics: DispatchStatistics = DispatchStatistics(),
             _ body: @escaping @Sendable () async throws -> Void) async throws -> Duration {
        let catalog = try await FunctionCatalog(directory: functionsDirectory, logger: logger)
        var poolConfiguration = WorkerPoolConfiguration(worker: try await productionWorker(), minWarm: workers, maxProcesses: workers)
        poolConfiguration.lane = .events  // its threads and scheduling class, as `chatfn run`'s
        let pool = WorkerPools(configuration: poolConfiguration, logger: logger)
        let service = EventLaneService(
            configuration: EventLaneService.Configuration(
                consumer: KafkaConsumerConfiguration(
                    kafka: KafkaConfiguration(bootstrapServers: bootstrap, properties: EmbeddedKafkaBroker.clientProperties.merging(extraProperties) { $1 }), groupId: group, topics: [topic], maxInFlight: maxInFlight),
                dispatcher: DispatcherConfiguration()),
            applications: SingleApplication(ServedApplication(id: "default", catalog: catalog, events: pool, blocking: pool), logger: logger),
            reporter: reporter, statistics: statistics, logger: logger)
        let serviceGroup = ServiceGroup(configuration: ServiceGroupConfiguration(services: [service], logger: logger))
        let running = Task { try await serviceGroup.run() }
        try await body()
        await serviceGroup.triggerGracefulShutdown()
        try await running.value
        guard let started = reporter.startedAt else { throw BenchError("no invocation ran") }
        return ContinuousClock.now - started
    }
}

/// Publishes events of the trivial function's trigger, carrying their publish time.
struct EventPublisher {
    let producer: KafkaProducer
    let topic: String

    func record(_ sequence: Int, keys: Int) -> ProducerRecord {
        let publishedAt = Date().timeIntervalSince1970 * 1_000
        return CloudEventKafkaBinding.binaryRecord(
            topic: topic, key: Array("user-\(sequence % keys)".utf8),
            attributes: CloudEventAttributes(id: "bench-\(sequence)", type: "bench.trivial", source: "bench"),
            data: Array(#"{"t":\#(publishedAt),"n":\#(sequence),"user":{"name":"ada"}}"#.utf8))
    }

    /// Publishes `count` events as fast as the producer takes them, numbered from `first`.
    func burst(_ count: Int, keys: Int, startingAt first: Int = 0) async throws {
        for sequence in first..<(first + count) { producer.sendInBackground(record(sequence, keys: keys)) }
        guard await producer.flush(timeoutMs: 60_000), producer.backgroundFailures == 0 else {
            throw BenchError("publishing the backlog failed (\(producer.backgroundFailures) failures)")
        }
    }

    /// Publishes `rate` events per second for `duration`.
    func paced(rate: Int, for duration: Duration, keys: Int) async throws {
        let interval = Duration.seconds(1) / rate
        let start = ContinuousClock.now
        var sequence = 0
        while ContinuousClock.now - start < duration {
            producer.sendInBackground(record(sequence, keys: keys))
            sequence += 1
            try await Task.sleep(until: start + interval * sequence, clock: .continuous)
        }
        _ = await producer.flush()
    }
}
