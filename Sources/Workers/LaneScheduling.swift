import Glibc

/// How the kernel weighs a lane's threads and Node workers against the other lane's.
package enum LaneScheduling: Sendable, Hashable {
    /// chatfn's own: the blocking lane, and pools outside the lanes.
    case normal
    /// Linux's `SCHED_IDLE`: the events lane. A waking normal thread (a blocking request's) takes the
    /// CPU from one of these at once, and they get the CPU time normal threads leave. Niceness does not
    /// do that since Linux 6.6 (EEVDF): a running thread keeps the CPU for its slice, about 1.5 ms on two
    /// cores, whatever its niceness. Measured under a 100,000-event backlog at 1,000 blocking calls/s
    /// (bench/README.md): p99 20 ms with the events lane at niceness 10, 18–27 ms with a 0.1 ms slice
    /// asked for the blocking lane's threads instead, 12.6–12.8 ms with `SCHED_IDLE` (11.2 with no backlog).
    ///
    /// A thread starts in its creator's class and an unprivileged one cannot leave `SCHED_IDLE`: threads
    /// that serve both lanes are started from chatfn's own (NIO's shared loops, which `chatfn` makes
    /// Swift's global executor: `LaneThreads.runSwiftTasksOnSharedLoops`). Where that did not happen
    /// (a test process) the lane's threads take ``fallbackNiceness`` instead; its workers, processes of
    /// their own, take `SCHED_IDLE` either way.
    case background

    /// `SCHED_IDLE` in <linux/sched.h>, a GNU extension Swift's Glibc module does not import.
    static let idlePolicy: Int32 = 5
    /// Where the policy cannot be set (a seccomp filter; `chrt` missing or refused), or a thread's must not
    /// be (Swift's tasks not on NIO's shared loops): niceness instead.
    static let fallbackNiceness: Int32 = 10

    /// Puts the calling thread in this class (on Linux a pid of 0 names the calling thread, not the
    /// process). Threads it starts later inherit it: the lane's Kafka clients' threads.
    func applyToCurrentThread() {
        guard self == .background else { return }
        var parameters = sched_param()  // priority 0, the only one SCHED_IDLE takes
        if !LaneThreads.swiftTasksRunOnSharedLoops || sched_setscheduler(0, Self.idlePolicy, &parameters) != 0 {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.fallbackNiceness)
        }
    }

    /// The words that start a worker in this class (`chrt` or `nice` execs the rest, which inherits it).
    func commandPrefix(chrt: String?, nice: String?) -> [String] {
        guard self == .background else { return [] }
        if let chrt { return [chrt, "--idle", "0"] }
        if let nice { return [nice, "-n", String(Self.fallbackNiceness)] }
        return []
    }
}
