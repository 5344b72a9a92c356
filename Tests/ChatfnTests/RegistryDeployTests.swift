import Dispatcher
import Foundation
import Hosting
import KafkaClient
import Registry
import Testing
import Workers

/// A worker deploying what the registry says, as seen by the events it looks applications up for.
@Suite("Deploying registry changes")
struct RegistryDeployTests {
    @Test("an event looked up once a version is saved runs that version, not the state before it")
    func lookupSeesWhatWasSaved() async throws {
        let broker = try EmbeddedKafkaBroker()
        for topic in [RegistryTopics.registry, RegistryTopics.audit] { try broker.createTopic(topic, partitions: 1) }
        let kafka = KafkaConfiguration(bootstrapServers: broker.bootstrapServers)
        let follower = try await RegistryFollower.start(configuration: kafka)
        await follower.waitUntilCaughtUp()
        let producer = try KafkaProducer(configuration: kafka)
        let registry = ApplicationRegistry(follower: follower, producer: producer, sealer: .development, logger: testLogger)
        let actor = ApplicationRegistry.Actor(token: nil)
        _ = try await registry.createApplication("saved", by: actor)
        _ = try await registry.saveVersion("saved", trigger: "test.first", script: "module.exports = async () => 0;", language: .javascript, by: actor)

        let applications = RegistryApplications(follower: follower, sealer: .development, configuration: .init(), logger: testLogger)
        let service = Task { try await applications.run() }
        guard case .served(let first) = await applications.application("saved") else { Issue.record("not served"); return }
        #expect(first.catalog.function(for: "test.first") != nil)
        for round in 1...3 {
            // saveVersion returns once this process's follower has the version: what an API caller is told.
            let version = try await registry.saveVersion("saved", trigger: "test.round\(round)", script: "module.exports = async () => \(round);",
                                                         language: .javascript, by: actor)
            guard case .served(let served) = await applications.application("saved") else { Issue.record("not served"); return }
            #expect(served.catalog.function(for: "test.round\(round)")?.versionNumber == version.number, "round \(round)")
        }
        service.cancel()
        for lane in WorkerLane.allCases { await applications.shutdown(lane, grace: .seconds(5)) }
        await follower.shutdown()
        await producer.shutdown()
    }
}
