import Glibc
import Synchronization

/// How the kernel weighs a lane's threads and Node workers against the other lane's.
package enum LaneScheduling: Sendable, Hashable {
    /// chatfn's own: the blocking lane, and pools outside the lanes.
    case normal
    /// The events lane: a backlog there must not slow a blocking request. How, is the operator's choice
    /// (``BackgroundClass``), made once before the lanes start.
    case background

    /// What the background class is.
    package enum BackgroundClass: String, Sendable, CaseIterable {
        /// Niceness 10 (the default): the lane gets a small share of the CPU when anything else wants it,
        /// never none. Under EEVDF (Linux 6.6+) a running thread keeps the CPU for its slice, about 1.5 ms
        /// on two cores, whatever its niceness, so a blocking request can wait behind the events lane:
        /// p99 20–32 ms at 1,000 calls/s under a 100,000-event backlog (bench/README.md).
        case nice
        /// Linux's `SCHED_IDLE`: a waking normal thread (a blocking request's) takes the CPU from the lane
        /// at once, and the lane gets only the CPU time nothing else in its cgroup wants: p99 12.6–12.8 ms
        /// in the same bench (11.2 with no backlog). Anything busy in that cgroup starves it, its shutdown
        /// included: on a shared host, every other process; in a container of its own (the Kubernetes and
        /// Compose files set this class), only chatfn's blocking lane.
        case idle
    }

    /// Sets the background class; call before the lanes start (their threads take it when they start).
    package static func useForBackground(_ backgroundClass: BackgroundClass) {
        backgroundIsIdle.store(backgroundClass == .idle, ordering: .sequentiallyConsistent)
    }

    package static var backgroundClass: BackgroundClass {
        backgroundIsIdle.load(ordering: .sequentiallyConsistent) ? .idle : .nice
    }

    private static let backgroundIsIdle = Atomic<Bool>(false)

    /// `SCHED_IDLE` in <linux/sched.h>, a GNU extension Swift's Glibc module does not import.
    static let idlePolicy: Int32 = 5
    /// The niceness of the `nice` class, and of the `idle` one where its policy cannot be set (a seccomp
    /// filter; `chrt` missing or refused) or a thread's must not be (see ``applyToCurrentThread()``).
    static let backgroundNiceness: Int32 = 10

    /// Puts the calling thread in this class (on Linux a pid of 0 names the calling thread, not the
    /// process). Threads it starts later inherit it: the lane's Kafka clients' threads.
    ///
    /// A thread starts in its creator's class and an unprivileged one cannot leave `SCHED_IDLE`: threads
    /// that serve both lanes are started from chatfn's own (NIO's shared loops, which `chatfn` makes
    /// Swift's global executor: `LaneThreads.runSwiftTasksOnSharedLoops`). Where that did not happen
    /// (a test process) the lane's threads are niced instead; its workers, processes of their own, take
    /// `SCHED_IDLE` either way.
    func applyToCurrentThread() {
        guard self == .background else { return }
        var parameters = sched_param()  // priority 0, the only one SCHED_IDLE takes
        if Self.backgroundClass == .nice || !LaneThreads.swiftTasksRunOnSharedLoops
            || sched_setscheduler(0, Self.idlePolicy, &parameters) != 0 {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.backgroundNiceness)
        }
    }

    /// The words that start a worker in this class (`chrt` or `nice` execs the rest, which inherits it).
    func commandPrefix(chrt: String?, nice: String?) -> [String] {
        guard self == .background else { return [] }
        if Self.backgroundClass == .idle, let chrt { return [chrt, "--idle", "0"] }
        if let nice { return [nice, "-n", String(Self.backgroundNiceness)] }
        return []
    }
}
