import ChatfnCore
import Foundation
import KafkaClient
import Testing
import Workers

/// A backlog must not slow a user who connects: the events lane's threads run nicer than the blocking
/// lane's, and each lane's tasks stay on its own threads.
@Suite("lane threads")
struct LaneThreadsTests {
    @Test("a lane's tasks, and the child tasks they start, run on the lane's threads: the events lane's niced, the blocking lane's not")
    func tasksRunOnTheirLanesThreads() async {
        for (lane, niceness) in [(LaneThreads.events, LaneThreads.eventsNiceness), (LaneThreads.blocking, 0)] {
            let seen = await Task(executorPreference: lane.executor) {
                await withTaskGroup(of: (Int32, Bool).self) { group in
                    group.addTask { (ThreadNiceness.current, lane.eventLoops.makeIterator().contains { $0.inEventLoop }) }
                    return await group.next()
                }
            }.value
            #expect(seen?.0 == niceness)
            #expect(seen?.1 == true)
        }
    }

    @Test("a Kafka client's threads, librdkafka's own, run at its configuration's niceness")
    func kafkaClientThreads() async throws {
        let broker = try EmbeddedKafkaBroker()
        var configuration = KafkaConfiguration(bootstrapServers: broker.bootstrapServers)
        configuration.threadNiceness = 7  // no other client in this process uses 7
        let producer = try KafkaProducer(configuration: configuration)
        let own = ProcessInfo.processInfo.processIdentifier
        try await eventually("librdkafka's main and broker threads at niceness 7") {
            let niced = ThreadListing.threads(of: own).filter { $0.niceness == 7 }.map(\.name)
            return niced.contains("rdk:main") && niced.contains { $0.hasPrefix("rdk:broker") }
        }
        await producer.shutdown()
        withExtendedLifetime(broker) {}
    }

    @Test("chatfn's events lane runs nicer than its blocking lane: its event loops and its Kafka clients' threads")
    func chatfnLanesThreads() async throws {
        let lane = try await LaneFixture.make(functions: ["user.received.notification": "module.exports = async () => {};"])
        let chatfn = try await lane.startedChatfn()
        try await eventually("both lanes' threads at their niceness", timeout: .seconds(30)) {
            let threads = ThreadListing.threads(of: chatfn.pid)
            func has(_ prefix: String, _ niceness: Int32) -> Bool { threads.contains { $0.name.hasPrefix(prefix) && $0.niceness == niceness } }
            return has("NIO-ELT", LaneThreads.eventsNiceness) && has("NIO-ELT", 0)
                && has("rdk:broker", LaneThreads.eventsNiceness) && has("rdk:broker", 0)
        }
        chatfn.signal(SIGTERM)
        #expect(try await chatfn.waitForExit() == 0)
        await lane.tearDown()
    }
}

/// A process's threads, by name and niceness, from `/proc`.
enum ThreadListing {
    static func threads(of pid: Int32) -> [(name: String, niceness: Int32)] {
        let directory = "/proc/\(pid)/task"
        guard let ids = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return ids.compactMap { id in
            guard let name = try? String(contentsOfFile: "\(directory)/\(id)/comm", encoding: .utf8),
                  let stat = try? String(contentsOfFile: "\(directory)/\(id)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // After the name: state (field 3) … nice (field 19).
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 16, let niceness = Int32(fields[16]) else { return nil }
            return (name.trimmingCharacters(in: .whitespacesAndNewlines), niceness)
        }
    }
}
