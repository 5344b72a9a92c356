#if canImport(Glibc)
import Glibc
#endif

/// The calling thread's niceness: on Linux a thread's own, which `PRIO_PROCESS` with 0 names.
package enum ThreadNiceness {
    /// Sets the calling thread's niceness; 0 leaves it as it is. Without privileges it can only go up.
    package static func set(_ niceness: Int32) {
        guard niceness > 0 else { return }
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
    }

    package static var current: Int32 { getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }
}
