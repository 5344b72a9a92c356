import AdminServer
import ChatfnCore
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Logging
import Dispatcher
import Functions
import Synchronization
import Workers
import ServiceLifecycle
import ChatFunctionsClient
import Registry

// chatfn benchmarks. Usage: swift run -c release ChatfnBench [lane] [--events N] [--rate R] [--seconds S]
// Numbers go to stdout; see bench/README.md for how to read them.

// As chatfn's `main` does, before any task runs.
LaneThreads.runSwiftTasksOnSharedLoops()
let arguments = CommandLine.arguments.dropFirst()
func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), arguments.index(after: index) < arguments.endIndex else { return nil }
    return arguments[arguments.index(after: index)]
}
func option(_ name: String, default value: Int) -> Int {
    option(name).flatMap { Int($0) } ?? value
}
let events = option("--events", default: 100_000)
let rate = option("--rate", default: 2_000)
let seconds = option("--seconds", default: 10)
let workers = option("--workers", default: 2)
let keys = option("--keys", default: 1_000)
let partitions = Int32(option("--partitions", default: 8))
// The events lane's class as deploy/k8s runs it (idle); `--events-lane-class nice` for chatfn's default.
guard let eventsLaneClass = LaneScheduling(rawValue: option("--events-lane-class") ?? "idle") else {
    FileHandle.standardError.write(Data("--events-lane-class: nice, idle or normal\n".utf8))
    exit(2)
}
LaneScheduling.useForEventsLane(eventsLaneClass)
print("events lane class: \(eventsLaneClass.rawValue)")

// Metrics go where `chatfn run` sends them (Prometheus), so that their cost is measured too.
PrometheusExport.bootstrap()
var logger = Logger(label: "bench")
logger.logLevel = arguments.contains("--debug") ? .debug : .warning

let broker = try EmbeddedKafkaBroker()
for topic in ["bench.backlog", "bench.paced", "chatfn.dlq", "chatfn.invocations", "chatfn.commands"] {
    try broker.createTopic(topic, partitions: partitions)
}
let functions = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-bench-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: functions.appendingPathComponent("functions"), withIntermediateDirectories: true)
try Data(LaneBenchmark.trivialFunction.utf8).write(to: functions.appendingPathComponent("functions/bench.trivial.js"))
defer { try? FileManager.default.removeItem(at: functions) }

if arguments.first == "pool" {
    let file = functions.appendingPathComponent("functions/bench.trivial.js").path
    for concurrency in [1, 64, 1_024] {
        let rate = try await PoolBenchmark.invocationsPerSecond(
            functionFile: file, workers: workers, total: concurrency == 1 ? 10_000 : events, concurrency: concurrency, logger: logger)
        print("worker pool, \(workers) processes, \(concurrency) in flight: \(Int(rate)) invocations/s")
    }
    let warm = try await WorkerBenchmark.warmLatencies(functionFile: file, count: 5_100, logger: logger)
    print("one warm invocation at a time (round trip through the pipes): \(Percentiles(warm).summary(unit: "ms"))")
    let cold = try await WorkerBenchmark.coldStarts(functionFile: file, count: 20, logger: logger)
    print("cold start, new worker to first result: \(Percentiles(cold).summary(unit: "ms"))")
    let idle = try await WorkerBenchmark.idleResidentMegabytes(functionFile: file, logger: logger)
    print("resident memory of an idle warm worker: \((idle * 10).rounded() / 10) MB")
    exit(0)
}

if arguments.first == "registry" {
    for (topic, count) in [("chatfn.registry", Int32(1)), ("chatfn.audit", 1), ("chatfn.events", 4), ("chatfn.requests", 4), ("chatfn.replies", 4)] {
        try broker.createTopic(topic, partitions: count)
    }
    let kafka = KafkaConfiguration(bootstrapServers: broker.bootstrapServers, properties: EmbeddedKafkaBroker.clientProperties)
    let deploys = option("--deploys", default: 100)
    let live = try await RegistryBenchmark.deployToLive(kafka: kafka, workers: 3, deploys: deploys, logger: logger)
    print("save (compile check + registry write + read-back) → live on every one of 3 workers: \(Percentiles(live).summary(unit: "ms"))")
    let applications = option("--applications", default: 1_000)
    let perApplication = option("--functions", default: 10)
    let filled = ContinuousClock.now
    try await RegistryBenchmark.fillRegistry(kafka: kafka, applications: applications, functions: perApplication)
    print("registry of \(applications) applications × \(perApplication) functions written in \((ContinuousClock.now - filled).fractionalSeconds) s")
    let follower = try await RegistryFollower.start(configuration: kafka)
    let reading = ContinuousClock.now
    await follower.waitUntilCaughtUp()
    print("registry read to its end by a follower: \((ContinuousClock.now - reading).fractionalMilliseconds) ms, \(follower.state.applications.count) applications")
    let chatfn = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("chatfn")
    for run in 1...3 {
        let (startUp, resident) = try await RegistryBenchmark.workerStartUp(bootstrap: broker.bootstrapServers, chatfn: chatfn)
        print("chatfn run #\(run) against it: ready in \((startUp * 1_000).rounded()) ms, resident \((resident * 10).rounded() / 10) MB")
    }
    exit(0)
}

let producer = try KafkaProducer(configuration: KafkaConfiguration(
    bootstrapServers: broker.bootstrapServers, properties: ["queue.buffering.max.messages": "1000000"]), lowLatency: true)
var lane = LaneBenchmark(bootstrap: broker.bootstrapServers, functionsDirectory: functions.path, logger: logger)
lane.maxInFlight = option("--max-in-flight", default: lane.maxInFlight)
for case let (index, argument) in arguments.enumerated() where argument == "--kafka-property" {
    let pair = arguments[arguments.index(arguments.startIndex, offsetBy: index + 1)].split(separator: "=", maxSplits: 1).map(String.init)
    lane.extraProperties[pair[0]] = pair[1]
}
if arguments.first == "redo" {
    let chatfn = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("chatfn")
    let outcome = try await RedoBenchmark.run(broker: broker, chatfn: chatfn, producer: producer, events: events, keys: keys, directory: functions)
    let bound = KafkaConsumerConfiguration.defaultMaxInFlight + outcome.rateAtKill / 5  // + one auto-commit interval (200 ms)
    print("kill -9 of chatfn run at \(outcome.rateAtKill) events/s, \(outcome.ranBeforeKill) of \(outcome.events) events run: "
          + "\(outcome.ranTwice) ran twice (bound: \(KafkaConsumerConfiguration.defaultMaxInFlight) in flight + 200 ms of commits = \(bound))")
    exit(0)
}
/// The blocking table on brokers of its own: the runs before it leave clients polling, and logs, on
/// `broker`. The events topic gets a second one unless `--one-broker` (see `BlockingTable`).
@MainActor func makeBlockingTable() throws -> BlockingTable {
    let blockingBroker = try EmbeddedKafkaBroker()
    let eventsBroker = arguments.contains("--one-broker") ? blockingBroker : try EmbeddedKafkaBroker()
    for created in Set([ObjectIdentifier(blockingBroker), ObjectIdentifier(eventsBroker)]) {
        let target = created == ObjectIdentifier(blockingBroker) ? blockingBroker : eventsBroker
        for topic in ["chatfn.dlq", "chatfn.invocations", "chatfn.commands"] { try target.createTopic(topic, partitions: partitions) }
    }
    let backlogProducer = try KafkaProducer(configuration: KafkaConfiguration(
        bootstrapServers: eventsBroker.bootstrapServers, properties: ["queue.buffering.max.messages": "1000000"]), lowLatency: true)
    var table = BlockingTable(
        broker: blockingBroker, eventsBroker: eventsBroker, producer: backlogProducer, functionsDirectory: functions, workers: workers,
        maxInFlight: lane.maxInFlight, backlog: events, keys: keys, partitions: partitions, seconds: seconds, logger: logger)
    if arguments.contains("--rate") { table.rates = [rate] }
    return table
}
if arguments.first == "blocking" {
    try await makeBlockingTable().run()
    exit(0)
}
print("chatfn lane benchmark: \(events) events, \(keys) keys, \(partitions) partitions, \(workers) Node workers, embedded broker")

// 1. Backlog: published first, then consumed → run → committed, against a bare librdkafka consumer.
try await EventPublisher(producer: producer, topic: "bench.backlog").burst(events, keys: keys)
if arguments.first == "consumer" {
    let markProcessed = !arguments.contains("--no-mark")
    let consumer = try KafkaConsumer(configuration: KafkaConsumerConfiguration(
        kafka: KafkaConfiguration(bootstrapServers: broker.bootstrapServers, properties: EmbeddedKafkaBroker.clientProperties),
        groupId: "bench-consumer", topics: ["bench.backlog"], maxInFlight: markProcessed ? 5_000 : 10_000_000), logger: logger)
    var count = 0
    var start: ContinuousClock.Instant?
    for await lease in consumer.records {
        if start == nil { start = .now }
        if markProcessed { lease.complete() }
        count += 1
        if count == events { break }
    }
    print("KafkaConsumer, processed at once: \(Int(Double(events) / (ContinuousClock.now - start!).fractionalSeconds)) records/s")
    await consumer.shutdown()
    exit(0)
}
// --lane-only: the backlog run alone (what a profiler should see).
let laneOnly = arguments.contains("--lane-only")
if !laneOnly {
    let raw = try RawConsumeBenchmark.recordsPerSecond(bootstrap: broker.bootstrapServers, topic: "bench.backlog", partitions: partitions, expected: events)
    print("raw librdkafka consume:            \(Int(raw)) records/s")

    let nodePipeline = try NodePipelineBenchmark.invocationsPerSecond(
        harness: try await productionWorker().harnessPath, functionFile: functions.appendingPathComponent("functions/bench.trivial.js").path, workers: workers)
    print("bare Node pipeline (\(workers) harness processes fed by a Node script, no chatfn): \(nodePipeline) invocations/s")
}

let backlogReporter = CountingReporter(keepsSamples: false)
let backlogStatistics = DispatchStatistics()
let runningSamples = Mutex<[Double]>([])
let cpuUsed = Mutex<ProcessCPU?>(nil)
// Steady: from 10% to 90% of the backlog run, past the group's join and before the last stragglers.
let steadyWindow = Mutex<(from: ContinuousClock.Instant?, to: ContinuousClock.Instant?)>((nil, nil))
let laneStarted = ContinuousClock.now
let backlogElapsed = try await lane.run(
    topic: "bench.backlog", group: "bench-backlog", reporter: backlogReporter, workers: workers, statistics: backlogStatistics
) {
    var before: ProcessCPU?
    while backlogReporter.count < events {
        try await Task.sleep(for: .milliseconds(5))
        let count = backlogReporter.count
        if count > 0 { runningSamples.withLock { $0.append(Double(backlogStatistics.running.load(ordering: .relaxed))) } }
        steadyWindow.withLock { window in
            if window.from == nil, count >= events / 10 { (window.from, before) = (.now, ProcessCPU.now()) }
            if window.to == nil, count >= events * 9 / 10 {
                window.to = .now
                if let before { cpuUsed.withLock { $0 = ProcessCPU.now() - before } }
            }
        }
    }
}
let withStartUp = ContinuousClock.now - laneStarted
print("invocations in flight (sampled): \(Percentiles(runningSamples.withLock { $0 }).summary(unit: ""))")
print("chatfn end to end (ran+committed): \(Int(Double(events) / backlogElapsed.fractionalSeconds)) events/s (\(backlogReporter.failures.load(ordering: .relaxed)) failures)")
if case (let from?, let to?) = steadyWindow.withLock({ $0 }) {
    print("chatfn steady (10% → 90% of the backlog): \(Int(Double(events * 8 / 10) / (to - from).fractionalSeconds)) events/s")
}
print("chatfn including start-up (group join, workers) and shutdown: \(Int(Double(events) / withStartUp.fractionalSeconds)) events/s")
if let cpu = cpuUsed.withLock({ $0 }) { print("CPU per 100,000 events (steady part): \(cpu.per100k(events: events * 8 / 10))") }

if laneOnly { exit(0) }

// 2. Latency at a fixed rate below saturation, from publish to the function's first line.
let pacedReporter = CountingReporter()
let publisher = EventPublisher(producer: producer, topic: "bench.paced")
_ = try await lane.run(topic: "bench.paced", group: "bench-paced", reporter: pacedReporter, workers: workers) {
    try await publisher.burst(1, keys: keys)  // the group joins and the first event runs before measuring
    while pacedReporter.count < 1 { try await Task.sleep(for: .milliseconds(20)) }
    _ = pacedReporter.takeLatencies()
    try await publisher.paced(rate: rate, for: .seconds(seconds), keys: keys)
    while pacedReporter.count < 1 + rate * seconds * 99 / 100 { try await Task.sleep(for: .milliseconds(20)) }
    try await Task.sleep(for: .milliseconds(500))
}
print("publish → function start at \(rate)/s: \(Percentiles(pacedReporter.takeLatencies()).summary(unit: "ms"))")

// 3. The blocking lane, with and without a backlog draining beside it.
if !arguments.contains("--no-blocking") { try await makeBlockingTable().run() }
await producer.shutdown()
