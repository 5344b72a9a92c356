import ChatfnCore
import Foundation
import Synchronization

/// How worker processes are kept apart from chatfn and from each other, beyond Node's permission model:
/// each worker runs in a PID namespace of its own (it sees no other process, so it can signal none:
/// not chatfn, not another application's workers) and a mount namespace with its own `/proc` (chatfn's
/// environment is not there to read) and a size-bounded tmpfs as its scratch directory.
///
/// Namespaces need root, or unprivileged user namespaces (then the worker maps to chatfn's user); where
/// neither is available the workers run without them and chatfn says so at start-up.
package struct WorkerIsolation: Sendable, Hashable {
    /// `unshare` and the flags that worked on this machine; nil: no namespaces here.
    var namespacePrefix: [String]?
    /// `sh`, `mount`: mount the scratch tmpfs inside the namespace; `setsid`: the worker in a process
    /// group of its own, so that `kill(0)` reaches nothing but itself (not `unshare`, its parent).
    var shell: String?
    var mount: String?
    var setsid: String?
    /// `prlimit`, for the memory and file-size limits; `chrt` (the `idle` class) or `nice` for a
    /// worker's scheduling class.
    var prlimit: String?
    var chrt: String?
    var nice: String?

    /// True when workers get their own PID and mount namespaces.
    package var hasNamespaces: Bool { namespacePrefix != nil }

    /// True when workers can run in `SCHED_IDLE` (`chrt` is there and the policy allowed).
    package var hasIdleClass: Bool { chrt != nil }

    /// True when workers are killed with chatfn, whatever ends it (util-linux's `setpriv` is there).
    package static var workersDieWithChatfn: Bool { ChildProcess.setpriv != nil }

    /// No isolation beyond the permission model (tests of that fallback, and machines without the tools).
    package static let none = WorkerIsolation()

    /// What this machine supports, found out on the first call (a few short-lived processes) and kept.
    package static func detected() async -> WorkerIsolation {
        if let known = detection.withLock({ $0 }) { return known }
        let found = await probe()
        detection.withLock { $0 = found }
        return found
    }

    private static let detection = Mutex<WorkerIsolation?>(nil)

    private static func probe() async -> WorkerIsolation {
        func find(_ name: String) -> String? {
            for directory in ["/usr/bin", "/bin", "/usr/sbin", "/sbin"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
                return "\(directory)/\(name)"
            }
            return ChatfnEnvironment.executable(name)
        }
        // `chrt` refused the policy (a seccomp filter) would not start the worker at all: `nice` then.
        var chrt = find("chrt")
        if let found = chrt, (try? await ChildCommand.run(found, ["--idle", "0", found, "--version"]))?.status != 0 { chrt = nil }
        var isolation = WorkerIsolation(prlimit: find("prlimit"), chrt: chrt, nice: find("nice"))
        guard let unshare = find("unshare"), let shell = find("sh"), let mount = find("mount"), let setsid = find("setsid") else {
            return isolation
        }
        let base = [unshare, "--pid", "--fork", "--kill-child", "--mount-proc"]
        let probe = "\(mount) -t tmpfs -o size=1m chatfn-probe /tmp"
        // A user namespace of its own first (needed without root; under root it maps to root, so it
        // limits what namespaced capabilities reach, not file access), then without one (where a
        // container forbids nested user namespaces).
        for prefix in [base + ["--user", "--map-root-user"], base] {
            if let (status, _) = try? await ChildCommand.run(prefix[0], Array(prefix.dropFirst()) + [shell, "-c", probe]), status == 0 {
                isolation.namespacePrefix = prefix
                isolation.shell = shell
                isolation.mount = mount
                isolation.setsid = setsid
                break
            }
        }
        return isolation
    }

    /// The command line that starts `command` (`node …`) isolated: scheduling class, then resource limits, then
    /// the namespaces, where the scratch tmpfs is mounted before `command` runs. Every step `exec`s the
    /// next, except `unshare --fork`, which stays as the namespace's parent and takes its child down with it.
    func commandLine(_ command: [String], scheduling: LaneScheduling, dataLimitBytes: Int?, scratch: String, scratchLimitMb: Int) -> [String] {
        var line = scheduling.commandPrefix(chrt: chrt, nice: nice)
        var limits: [String] = []
        if let dataLimitBytes { limits.append("--data=\(dataLimitBytes)") }
        if let namespacePrefix, let shell, let mount, let setsid {
            if let prlimit, !limits.isEmpty { line += [prlimit] + limits }
            // $0 is the scratch directory, "$@" the command: nothing of either is parsed by the shell.
            let script = "\(mount) -t tmpfs -o size=\(scratchLimitMb)m,mode=0700 chatfn-scratch \"$0\" && exec \(setsid) \"$@\""
            return line + namespacePrefix + [shell, "-c", script, scratch] + command
        }
        // No tmpfs: the scratch directory's bound is per file.
        limits.append("--fsize=\(scratchLimitMb * 1_048_576)")
        if let prlimit { line += [prlimit] + limits }
        return line + command
    }
}
