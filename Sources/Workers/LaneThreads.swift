import CSwiftRuntimeHooks
import Glibc
import NIOCore
import NIOPosix
import Synchronization

/// The threads a lane runs on. A lane runs all of its work with its group as the task executor
/// preference (its Kafka clients are made there, its consume loop and every child task run there), and
/// its workers' pipes are on the same group: no job of one lane queues behind the other's.
///
/// The events lane's threads run in the class chosen for it (``LaneScheduling/eventsLane``), as its
/// Node workers do; the blocking lane's in chatfn's own, so that a backlog keeping the events lane busy
/// yields the CPU to blocking requests. A thread starts in the class of the thread that starts it: the
/// events lane's Kafka clients (librdkafka's threads, the poll loops) are made on its threads and run in
/// its class; the blocking lane's in chatfn's.
package struct LaneThreads: Sendable {
    package static var blocking: LaneThreads { both.blocking }
    package static var events: LaneThreads { both.events }

    /// Makes NIO's shared event loops Swift's global executor; called first thing in `main`, before any
    /// task runs, once. A thread starts in its creator's scheduling class, and Swift's own pool
    /// (libdispatch's) starts a thread from whichever thread enqueues a job when none is free: a task
    /// that an events lane thread starts or resumes (a deploy, a launch, a trace's export) would put a
    /// pool thread, and every task it runs later, in the background class. NIO's shared loops are
    /// started once, by chatfn's own threads, and never end. False when another hook is installed.
    ///
    /// As SwiftNIO's `unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor`, which
    /// finds the runtime's hook with `dlsym` and so does nothing in a `--static-swift-stdlib` binary
    /// (the Docker image's): the hook is referenced from C instead.
    @discardableResult
    package static func runSwiftTasksOnSharedLoops() -> Bool {
        let hook = chatfn_swift_task_enqueueGlobal_hook()
        guard hook.pointee == nil else { return false }
        _ = MultiThreadedEventLoopGroup.singleton  // its threads started now, in chatfn's class
        // The hook's type in the runtime: a Swift-convention function of the job and the original enqueue.
        typealias EnqueueGlobalHook = @convention(thin) (UnownedJob, @convention(thin) (UnownedJob) -> Void) -> Void
        let enqueueOnSharedLoops: EnqueueGlobalHook = { job, _ in
            MultiThreadedEventLoopGroup.singleton.any().executor.enqueue(ExecutorJob(job))
        }
        hook.pointee = unsafeBitCast(enqueueOnSharedLoops, to: UnsafeMutableRawPointer.self)
        swiftTasksOnSharedLoops.store(true, ordering: .sequentiallyConsistent)
        return true
    }

    /// Whether ``runSwiftTasksOnSharedLoops()`` installed the hook: only then do the events lane's
    /// threads take `SCHED_IDLE` in the `idle` class; without it (a test process, whose tasks ran before
    /// any code of ours) Swift's pool could start threads from them in that class.
    static var swiftTasksRunOnSharedLoops: Bool { swiftTasksOnSharedLoops.load(ordering: .sequentiallyConsistent) }
    private static let swiftTasksOnSharedLoops = Atomic<Bool>(false)

    /// Both lanes' threads, and the launcher thread every worker is spawned from, are started together on
    /// first use. Only the events lane's threads, and threads they start, are put in the background
    /// class: none exists before this runs, so these threads start in chatfn's own, and the events
    /// lane's then leave it. The class chosen is read here, once, for the threads and the workers.
    private static let both: (blocking: LaneThreads, events: LaneThreads) = {
        LauncherThread.start()
        _ = MultiThreadedEventLoopGroup.singleton  // started in chatfn's class, if nothing did before
        return (LaneThreads(threads: System.coreCount, scheduling: .normal),
                LaneThreads(threads: System.coreCount, scheduling: LaneScheduling.eventsLane))
    }()

    package let eventLoops: MultiThreadedEventLoopGroup
    /// The class of these threads and of the lane's workers.
    package let scheduling: LaneScheduling
    /// Runs a lane's tasks on ``eventLoops``: a job stays on the loop it was enqueued from.
    package let executor: EventLoopTaskExecutor
    /// One executor per loop, for ``nextLoopExecutor()``.
    private let loopExecutors: [EventLoopTaskExecutor]
    private let nextLoop = NextLoop()

    private init(threads: Int, scheduling: LaneScheduling) {
        self.scheduling = scheduling
        eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        executor = EventLoopTaskExecutor(eventLoops)
        loopExecutors = eventLoops.makeIterator().map { loop in
            loop.execute { scheduling.applyToCurrentThread() }
            return EventLoopTaskExecutor(loop)
        }
    }
}

extension LaneThreads {
    /// An executor on one of the lane's loops, each in turn: for a task that starts many (a runner of
    /// key runs, a request), so that they spread over the lane's threads instead of all starting on the
    /// thread of the loop that started them (``executor`` keeps a job where it was enqueued from).
    package func nextLoopExecutor() -> EventLoopTaskExecutor {
        loopExecutors[nextLoop.index.wrappingAdd(1, ordering: .relaxed).oldValue % loopExecutors.count]
    }
}

private final class NextLoop: Sendable {
    let index = Atomic<Int>(0)
}

/// The lane a pool of workers serves: its processes' pipes are on the lane's threads, and they run in
/// its scheduling class.
package enum WorkerLane: String, Sendable, CaseIterable {
    case events
    case blocking

    package var threads: LaneThreads { self == .events ? .events : .blocking }
    package var scheduling: LaneScheduling { threads.scheduling }
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
