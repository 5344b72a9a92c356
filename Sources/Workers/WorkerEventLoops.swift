import NIOCore
import NIOPosix

/// The event loops that carry the worker processes' pipes. The blocking lane's have a thread of their
/// own: answering a user who is connecting never waits behind a backlog's results on the shared loops,
/// and the kernel's scheduler, finding that thread mostly idle, runs it as soon as it wakes.
package enum WorkerEventLoops {
    private static let blocking = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    package static func next(blockingLane: Bool) -> any EventLoop {
        blockingLane ? blocking.next() : MultiThreadedEventLoopGroup.singleton.next()
    }
}
