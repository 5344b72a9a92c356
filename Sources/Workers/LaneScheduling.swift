import Glibc
import Synchronization

/// How the kernel weighs a lane's threads and Node workers: the blocking lane's, and pools outside the
/// lanes, run in chatfn's own class (`normal`); the events lane's in the one the operator chose
/// (`--events-lane-class`), so that a backlog there does not slow a blocking request.
package enum LaneScheduling: String, Sendable, CaseIterable {
    /// Niceness 10 more than chatfn's (the events lane's default): the lane gets a small share of the
    /// CPU when anything else wants it, never none. Under EEVDF (Linux 6.6+) a running thread keeps the
    /// CPU for its slice, about 1.5 ms on two cores, whatever its niceness, so a blocking request can
    /// wait behind the events lane: p99 14.3–17.1 ms at 200 calls/s under a 100,000-event backlog
    /// (bench/README.md, "Fourth session").
    case nice
    /// Linux's `SCHED_IDLE`: a waking normal thread (a blocking request's) takes the CPU from the lane
    /// at once, and the lane gets almost only the CPU time nothing else in its CPU cgroup wants: p99
    /// 13.4–13.5 ms in the same bench (about 11.5 with no backlog; at 1,000 calls/s the classes
    /// differ by less than the bench machine's noise). Anything busy in that cgroup starves it,
    /// its shutdown included: in a container whose cgroup has the CPU controller (Kubernetes, Docker),
    /// chatfn's own work (the blocking lane, an npm install); on a bare host, every other process.
    case idle
    /// chatfn's own class. Chosen for the events lane, it does not yield to blocking requests: for a
    /// fleet without blocking functions, or a busy shared host where events must not wait behind other
    /// processes.
    case normal

    /// The events lane's class, read once when the lanes' threads start (``LaneThreads``): set it
    /// before, with ``useForEventsLane(_:)``.
    static var eventsLane: LaneScheduling { eventsLaneChoice.withLock { $0 } }

    /// Chooses the events lane's class; call before anything starts a lane (`chatfn`'s options do).
    package static func useForEventsLane(_ scheduling: LaneScheduling) {
        eventsLaneChoice.withLock { $0 = scheduling }
    }

    private static let eventsLaneChoice = Mutex(LaneScheduling.nice)

    /// `SCHED_IDLE` in <linux/sched.h>, a GNU extension Swift's Glibc module does not import.
    static let idlePolicy: Int32 = 5
    /// How much nicer than chatfn the `nice` class is; the `idle` one too where its policy cannot be set
    /// (a seccomp filter; `chrt` missing or refused) or a thread's must not be (see
    /// ``applyToCurrentThread()``). An increment, as `nice -n` for workers: chatfn started niced keeps
    /// its lanes apart.
    static let nicenessIncrement: Int32 = 10

    /// Puts the calling thread in this class. Threads it starts later inherit it: the lane's Kafka
    /// clients' threads.
    ///
    /// A thread starts in its creator's class and an unprivileged one cannot leave `SCHED_IDLE`: threads
    /// that serve both lanes are started from chatfn's own (NIO's shared loops, which `chatfn` makes
    /// Swift's global executor: `LaneThreads.runSwiftTasksOnSharedLoops`). Where that did not happen
    /// (a test process) the lane's threads are niced instead; its workers, processes of their own, take
    /// `SCHED_IDLE` either way.
    func applyToCurrentThread() {
        guard self != .normal else { return }
        var parameters = sched_param()  // priority 0, the only one SCHED_IDLE takes
        // On Linux a pid of 0 names the calling thread, not the process; so does `nice`.
        if self == .nice || !LaneThreads.swiftTasksRunOnSharedLoops || sched_setscheduler(0, Self.idlePolicy, &parameters) != 0 {
            _ = Glibc.nice(Self.nicenessIncrement)
        }
    }

    /// The words that start a worker in this class (`chrt` or `nice` execs the rest, which inherits it).
    func commandPrefix(chrt: String?, nice: String?) -> [String] {
        guard self != .normal else { return [] }
        if self == .idle, let chrt { return [chrt, "--idle", "0"] }
        if let nice { return [nice, "-n", String(Self.nicenessIncrement)] }
        return []
    }
}
