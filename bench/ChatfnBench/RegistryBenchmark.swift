import ChatfnCore
import Dispatcher
import Foundation
import Functions
import Hosting
import KafkaClient
import Logging
import Registry
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The control plane's numbers: how long a saved version takes to be live on every worker, and what a
/// worker pays to start against a large registry.
enum RegistryBenchmark {
    static let trigger = "bench.deployed"

    /// Saves `deploys` versions (compiled and checked first, as the API does) and measures, for each,
    /// the time until every one of `workers` followers runs it.
    static func deployToLive(kafka: KafkaConfiguration, workers: Int, deploys: Int, logger: Logger) async throws -> [Double] {
        let writerFollower = try await RegistryFollower.start(configuration: kafka)
        await writerFollower.waitUntilCaughtUp()
        let producer = try KafkaProducer(configuration: kafka, lowLatency: true)
        try await producer.prepare(topics: [RegistryTopics.registry, RegistryTopics.audit])
        let registry = ApplicationRegistry(follower: writerFollower, producer: producer, sealer: .development, logger: logger)
        let actor = ApplicationRegistry.Actor(token: nil)
        _ = try await registry.createApplication("deploy-bench", by: actor)
        _ = try await registry.saveVersion("deploy-bench", trigger: trigger, script: script(0), language: .javascript, by: actor)

        var fleet: [(RegistryApplications, Task<Void, any Error>, ServedApplication)] = []
        for _ in 0..<workers {
            let follower = try await RegistryFollower.start(configuration: kafka)
            await follower.waitUntilCaughtUp()
            let applications = RegistryApplications(follower: follower, sealer: .development, configuration: .init(eventWorkers: 1), logger: logger)
            let running = Task { try await applications.run() }
            guard case .served(let served) = await applications.application("deploy-bench") else { throw BenchError("the application was not served") }
            fleet.append((applications, running, served))
        }
        var samples: [Double] = []
        for deploy in 1...deploys {
            let source = script(deploy)
            let started = ContinuousClock.now
            try await FunctionCompiler.check(source, typescript: false)
            let version = try await registry.saveVersion("deploy-bench", trigger: trigger, script: source, language: .javascript, by: actor)
            // Polling is the measurement here: the first moment each worker's catalog holds the version.
            while !fleet.allSatisfy({ $0.2.catalog.function(for: trigger)?.versionNumber == version.number }) {
                try await Task.sleep(for: .microseconds(200))
            }
            samples.append((ContinuousClock.now - started).fractionalMilliseconds)
        }
        for (applications, running, _) in fleet {
            running.cancel()
            await applications.shutdown(.events, grace: .seconds(1))
            await applications.shutdown(.blocking, grace: .seconds(1))
        }
        await producer.shutdown()
        return samples
    }

    static func script(_ n: Int) -> String {
        "async function handleEvent(event, context) { return { deploy: \(n) }; }\n"
    }

    /// Writes `applications` applications of `functions` functions each straight to the registry topic.
    static func fillRegistry(kafka: KafkaConfiguration, applications: Int, functions: Int) async throws {
        let producer = try KafkaProducer(configuration: kafka.merging(["queue.buffering.max.messages": "1000000"]))
        let encoder = JSONEncoder()
        for index in 0..<applications {
            let app = "app-\(index)"
            let generation = "g\(index)"
            try await producer.send(ProducerRecord(topic: RegistryTopics.registry, partition: 0, key: Array(RegistryKey.application(app: app, generation: generation).encoded.utf8),
                                                   value: Array(try encoder.encode(ApplicationDocument(createdTime: EpochMilliseconds.now())))))
            for function in 0..<functions {
                let source = "async function handleEvent(event, context) { return { app: \(index), function: \(function) }; }\n"
                let document = VersionDocument(handlerScript: source, language: .javascript, sha256: Digest.sha256(source),
                                               createdTime: EpochMilliseconds.now(), author: "bench", rollbackOf: nil)
                producer.sendInBackground(ProducerRecord(
                    topic: RegistryTopics.registry, partition: 0,
                    key: Array(RegistryKey.version(app: app, generation: generation, trigger: "bench.t\(function)", id: "v\(index)-\(function)").encoded.utf8),
                    value: Array(try encoder.encode(document))))
            }
        }
        _ = await producer.flush(timeoutMs: 60_000)
        await producer.shutdown()
    }

    /// Starts `chatfn run` against the registry and reports the time to `/readyz` and its resident memory then.
    static func workerStartUp(bootstrap: String, chatfn: URL) async throws -> (seconds: Double, residentMB: Double) {
        let port = Int.random(in: 20_000...60_000)
        let process = Process()
        process.executableURL = chatfn
        process.arguments = ["run", "--kafka", bootstrap, "--admin", "127.0.0.1:\(port)", "--log-level", "error"]
        process.standardOutput = FileHandle.nullDevice
        let started = ContinuousClock.now
        try process.run()
        defer { process.terminate() }
        while true {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/readyz")!),
               (response as? HTTPURLResponse)?.statusCode == 200 { break }
            guard process.isRunning else { throw BenchError("chatfn run exited") }
            try await Task.sleep(for: .milliseconds(20))
        }
        let seconds = (ContinuousClock.now - started).fractionalSeconds
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let kilobytes = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? .nan
        return (seconds, kilobytes / 1_024)
    }
}
