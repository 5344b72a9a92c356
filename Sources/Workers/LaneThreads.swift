import Glibc
import NIOCore
import NIOPosix
import Synchronization

/// The threads a lane runs on. A lane runs all of its work with its group as the task executor
/// preference (its Kafka clients are made there, its consume loop and every child task run there), and
/// its workers' pipes are on the same group: no job of one lane queues behind the other's.
///
/// The events lane's threads run at ``eventsNiceness``, as its Node workers do; the blocking lane's at
/// chatfn's own. A backlog keeps the events lane's threads busy, and a blocking request's threads wake at
/// about nine times their weight, so the kernel runs them at once. A thread starts at the niceness of
/// the thread that starts it: the events lane's Kafka clients (librdkafka's threads, the poll loops) are
/// made on its threads and run at its niceness; the blocking lane's keep chatfn's.
package struct LaneThreads: Sendable {
    /// The niceness (0–19) of the events lane's threads, and of its Node workers.
    package static let eventsNiceness: Int32 = 10

    package static var blocking: LaneThreads { both.blocking }
    package static var events: LaneThreads { both.events }

    /// Both lanes' threads, and the launcher thread every worker is spawned from, are started together on
    /// first use. Only the events lane's threads, and threads they start, are niced: none exists before
    /// this runs, so these threads start at chatfn's own niceness, and the events lane's then lower theirs.
    private static let both: (blocking: LaneThreads, events: LaneThreads) = {
        LauncherThread.start()
        return (LaneThreads(threads: System.coreCount, niceness: 0), LaneThreads(threads: System.coreCount, niceness: eventsNiceness))
    }()

    package let eventLoops: MultiThreadedEventLoopGroup
    /// Runs a lane's tasks on ``eventLoops``: a job stays on the loop it was enqueued from.
    package let executor: EventLoopTaskExecutor
    /// One executor per loop, for ``nextLoopExecutor()``.
    private let loopExecutors: [EventLoopTaskExecutor]
    private let nextLoop = NextLoop()

    private init(threads: Int, niceness: Int32) {
        eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        executor = EventLoopTaskExecutor(eventLoops)
        loopExecutors = eventLoops.makeIterator().map { loop in
            // On Linux niceness is a thread's own: `PRIO_PROCESS` with 0 names the calling thread.
            if niceness > 0 { loop.execute { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness) } }
            return EventLoopTaskExecutor(loop)
        }
    }
}

extension LaneThreads {
    /// An executor on one of the lane's loops, each in turn: for a task that starts many (a record's
    /// run, a request), so that they spread over the lane's threads instead of all starting on the
    /// thread of the loop that started them (``executor`` keeps a job where it was enqueued from).
    package func nextLoopExecutor() -> EventLoopTaskExecutor {
        loopExecutors[nextLoop.index.wrappingAdd(1, ordering: .relaxed).oldValue % loopExecutors.count]
    }
}

private final class NextLoop: Sendable {
    let index = Atomic<Int>(0)
}

/// The lane a pool of workers serves: its processes' pipes are on the lane's threads, and they run at
/// its niceness.
package enum WorkerLane: String, Sendable, CaseIterable {
    case events
    case blocking

    package var threads: LaneThreads { self == .events ? .events : .blocking }
    package var niceness: Int32 { self == .events ? LaneThreads.eventsNiceness : 0 }
}

/// A task executor on an event loop group: a job runs on the loop it is enqueued from when that is one
/// of the group's (no hop), else on the group's next.
package final class EventLoopTaskExecutor: TaskExecutor {
    private let eventLoops: any EventLoopGroup

    init(_ eventLoops: any EventLoopGroup) {
        self.eventLoops = eventLoops
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoops.any().execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
