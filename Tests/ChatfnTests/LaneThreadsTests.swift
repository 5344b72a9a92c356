import ChatFunctionsClient
import Foundation
import Synchronization
import Testing
import Workers

/// A backlog must not slow a user who connects: the events lane's threads and workers run in a
/// background scheduling class (niceness 10, or `SCHED_IDLE`), the blocking lane's in chatfn's own, and
/// each lane's tasks stay on its own threads.
@Suite("lane threads")
struct LaneThreadsTests {
    @Test("a lane's tasks, and the child tasks they start, run on the lane's threads: the events lane's niced (the default class), the blocking lane's not")
    func tasksRunOnTheirLanesThreads() async {
        let own = ProcessListing.niceness(of: getpid())
        for (lane, niceness) in [(LaneThreads.events, min(own + 10, 19)), (LaneThreads.blocking, own)] {
            let seen = await Task(executorPreference: lane.executor) {
                await withTaskGroup(of: (Int32, Int32, Bool).self) { group in
                    group.addTask {
                        (sched_getscheduler(0), getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0),
                         lane.eventLoops.makeIterator().contains { $0.inEventLoop })
                    }
                    return await group.next()
                }
            }.value
            #expect(seen?.0 == ProcessListing.normalPolicy)
            #expect(seen?.1 == niceness)
            #expect(seen?.2 == true)
        }
    }

    @Test("chatfn's events lane runs in the background class it is given, its blocking lane does not: event loops, Kafka clients' threads, Node workers",
          arguments: LaneScheduling.allCases)
    func chatfnLanesThreads(_ backgroundClass: LaneScheduling) async throws {
        let lane = try await LaneFixture.make(functions: [
            "user.received.notification": "module.exports = async () => {};",
            "user.attempted.start_session": "module.exports = async () => ({});",
        ])
        let chatfn = try await lane.startedChatfn(["--events-lane-class", backgroundClass.rawValue], includingErrors: true)
        // The application's processes start on its first event and its first call.
        try await lane.publish("user.received.notification", id: "n-1", key: "ada", data: ["user": "ada"])
        let client = try await ChatFunctionsClient.connect(ChatFunctionsClient.Configuration(kafka: lane.kafka))
        let call = await client.call(trigger: "user.attempted.start_session", data: Array(#"{"username":"ada"}"#.utf8), timeout: LaneFixture.firstCallTimeout, fallback: .deny)
        #expect(call.status == "succeeded", "\(call)")
        await client.shutdown()
        // (policy, niceness) of chatfn's own threads (this process's niceness) and of the background class.
        let niceness = ProcessListing.niceness(of: getpid())
        let own = ProcessListing.Class(policy: ProcessListing.normalPolicy, nice: niceness)
        let background = switch backgroundClass {
        case .idle: ProcessListing.Class(policy: ProcessListing.idlePolicy, nice: niceness)
        case .nice: ProcessListing.Class(policy: ProcessListing.normalPolicy, nice: min(niceness + 10, 19))
        case .normal: own
        }
        let seen = Mutex("")
        do {
            // In the idle class the rest of this suite, busy beside it, can hold the events worker's start back.
            try await eventually("both lanes' threads and workers in their scheduling class", timeout: .seconds(120)) {
                let threads = ProcessListing.threads(of: chatfn.pid)
                func has(_ prefix: String, _ wanted: ProcessListing.Class) -> Bool { threads.contains { $0.name.hasPrefix(prefix) && $0.schedulingClass == wanted } }
                let workers = ProcessListing.descendants(of: chatfn.pid).filter { $0.name == "node" }
                seen.withLock { $0 = "threads \(threads.map { "\($0.name)@\($0.schedulingClass)" }.sorted()), workers \(workers.map(\.schedulingClass))" }
                return has("NIO-ELT", background) && has("NIO-ELT", own)
                    && has("rdk:broker", background) && has("rdk:broker", own)
                    // One worker each: the events lane's in the background class, the blocking lane's in chatfn's.
                    && Set(workers.map(\.schedulingClass)) == [own, background]
            }
        } catch {
            Issue.record("\(error): \(seen.withLock { $0 })")
        }
        // Nothing else is in the background class: not Swift's executor (NIO's shared loops), nor
        // libdispatch's pool (whose background-QoS thread libdispatch nices itself).
        let strays = ProcessListing.threads(of: chatfn.pid).filter {
            backgroundClass != .normal && $0.schedulingClass == background
                && !["NIO-ELT", "rdk:", "chatfn-"].contains(where: $0.name.hasPrefix)
                && !(backgroundClass == .nice && $0.name == ".background-qos")
        }
        #expect(strays.isEmpty, "\(strays.map(\.name))")
        chatfn.signal(SIGTERM)
        let status = try await chatfn.waitForExit()
        // The idle class's price (docs/architecture.md): on a busy machine, this suite, the events lane's
        // shutdown can starve until the watchdog ends chatfn.
        let watchdogEnded = status == 1 && chatfn.stdout.contains("shutdown took longer than")
        #expect(status == 0 || (backgroundClass == .idle && watchdogEnded), "exit status \(status): \(chatfn.stdout)")
        await lane.tearDown()
    }
}

/// Threads and processes, by name and scheduling policy, from `/proc`.
enum ProcessListing {
    struct Class: Hashable, CustomStringConvertible {
        var policy: Int32
        var nice: Int32
        var description: String { "policy \(policy) nice \(nice)" }
    }

    typealias Entry = (pid: Int32, name: String, schedulingClass: Class, parent: Int32)

    /// `SCHED_OTHER` and `SCHED_IDLE` (<linux/sched.h>).
    static let normalPolicy: Int32 = 0
    static let idlePolicy: Int32 = 5

    /// A process's niceness (its main thread's).
    static func niceness(of pid: Int32) -> Int32 {
        read("/proc/\(pid)")?.schedulingClass.nice ?? 0
    }

    static func threads(of pid: Int32) -> [Entry] {
        let directory = "/proc/\(pid)/task"
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return ids.compactMap { read("\(directory)/\($0)") }
    }

    /// Every process below `pid`.
    static func descendants(of pid: Int32) -> [Entry] {
        let all = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { Int32($0) != nil }.compactMap { read("/proc/\($0)") }
        var found: [Entry] = []
        var parents: Set<Int32> = [pid]
        while true {
            let next = all.filter { parents.contains($0.parent) && !parents.contains($0.pid) }
            if next.isEmpty { return found }
            found += next
            parents.formUnion(next.map(\.pid))
        }
    }

    private static func read(_ directory: String) -> Entry? {
        guard let name = try? String(contentsOfFile: "\(directory)/comm", encoding: .utf8),
              let stat = try? String(contentsOfFile: "\(directory)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")"), let pid = Int32(stat.prefix(while: { $0 != " " })) else { return nil }
        // After the name: state (field 3), parent (4) … nice (19) … policy (41).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 38, let parent = Int32(fields[1]), let nice = Int32(fields[16]), let policy = Int32(fields[38]) else { return nil }
        return (pid, name.trimmingCharacters(in: .whitespacesAndNewlines), Class(policy: policy, nice: nice), parent)
    }
}
