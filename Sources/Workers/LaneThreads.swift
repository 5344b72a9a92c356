import ChatfnCore
import NIOCore
import NIOPosix

/// The threads a lane runs on. A lane's Swift tasks (its consume loop and all it starts, through an
/// executor preference) and its workers' pipes share one event loop group, so an invocation's task
/// writes its request and takes its result on the thread that carries the pipe.
///
/// The lanes do not share threads: the blocking lane has one of its own at the process's niceness, the
/// events lane one per core at ``eventsNiceness``, as its Node workers. A backlog keeps the events lane's
/// threads busy; a blocking request's thread wakes at a far higher weight than theirs, so the kernel runs
/// it at once instead of after a time slice of theirs, and no job of the backlog's queues ahead of it.
package struct LaneThreads: Sendable {
    /// The niceness (0–19) of the events lane's threads, its Kafka clients' and its Node workers.
    package static let eventsNiceness: Int32 = 10

    package static let blocking = LaneThreads(threads: 1, niceness: 0)
    package static let events = LaneThreads(threads: System.coreCount, niceness: eventsNiceness)

    package static func of(blockingLane: Bool) -> LaneThreads { blockingLane ? blocking : events }

    package let eventLoops: MultiThreadedEventLoopGroup
    /// Runs a lane's tasks on ``eventLoops``.
    package let executor: EventLoopTaskExecutor

    private init(threads: Int, niceness: Int32) {
        eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        executor = EventLoopTaskExecutor(eventLoops)
        guard niceness > 0 else { return }
        for loop in eventLoops.makeIterator() {
            loop.execute { ThreadNiceness.set(niceness) }
        }
    }
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
