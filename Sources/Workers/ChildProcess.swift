import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A spawned worker process and the parent's ends of its two protocol pipes.
struct ChildProcess {
    let pid: pid_t
    /// chatfn writes requests here; the child reads them on fd 3.
    let requestFD: Int32
    /// chatfn reads replies here; the child writes them on fd 4.
    let replyFD: Int32
    /// chatfn reads here what the child writes on fds 1 and 2 (Node's own fatal errors, or a function
    /// writing to them directly): never chatfn's own output.
    let outputFD: Int32

    /// Spawns `executable` with its protocol pipes on fds 3 and 4, stdin from /dev/null, stdout and stderr
    /// on a pipe of their own, in a process group of its own (so a Ctrl-C in chatfn's terminal reaches chatfn,
    /// which drains, and not the workers directly). Where `setpriv` exists the child is killed when chatfn
    /// dies, by any signal, even while its function never yields.
    static func spawn(executable: String, arguments: [String], environment: [String: String]) async throws -> ChildProcess {
        let (program, programArguments) = setpriv.map { ($0, ["--pdeathsig", "KILL", "--", executable] + arguments) } ?? (executable, arguments)
        // Pipes are made close-on-exec only after pipe(2) returns; spawning one child at a time (on the
        // launcher thread) keeps a concurrent spawn from inheriting another child's pipe ends in that window.
        return try await LauncherThread.run { try spawnOne(executable: program, arguments: programArguments, environment: environment) }
    }

    /// util-linux's `setpriv`, to give workers a parent-death signal (posix_spawn cannot).
    static let setpriv: String? = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }

    private static func spawnOne(executable: String, arguments: [String], environment: [String: String]) throws -> ChildProcess {
        let requests = try makePipe()
        let replies = try makePipe()
        let output = try makePipe()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, requests.read, 3)
        posix_spawn_file_actions_adddup2(&actions, replies.write, 4)
        posix_spawn_file_actions_adddup2(&actions, output.write, 1)
        posix_spawn_file_actions_adddup2(&actions, output.write, 2)
        // Nothing else of chatfn's crosses over: sockets and pipes without close-on-exec (the broker's,
        // another worker's) would otherwise be open in the worker.
        closeDescriptors(from: 5, in: &actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP] { sigaddset(&defaultSignals, signal) }
        var noMask = sigset_t()
        sigemptyset(&noMask)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setsigmask(&attributes, &noMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(requests.read)
        close(replies.write)
        close(output.write)
        guard result == 0 else {
            close(requests.write)
            close(replies.read)
            close(output.read)
            throw WorkerError.launchFailed("\(executable): \(String(cString: strerror(result)))")
        }
        return ChildProcess(pid: pid, requestFD: requests.write, replyFD: replies.read, outputFD: output.read)
    }

    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    /// glibc 2.34's `posix_spawn_file_actions_addclosefrom_np`, which Swift's Glibc module does not
    /// export; looked up once.
    private static let addCloseFrom: CloseFrom? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: CloseFrom.self) }

    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32

    /// Linux's `pipe2`, which Swift's Glibc module does not export; looked up once.
    private static let pipe2: Pipe2? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pipe2").map { unsafeBitCast($0, to: Pipe2.self) }

    /// Closes every descriptor from `lowest` up in the child; without closefrom, each one open now.
    private static func closeDescriptors(from lowest: Int32, in actions: inout posix_spawn_file_actions_t) {
        if let addCloseFrom, addCloseFrom(&actions, lowest) == 0 { return }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? []
        for descriptor in open where descriptor >= lowest { posix_spawn_file_actions_addclose(&actions, descriptor) }
    }

    /// A close-on-exec pipe (from its creation: helper programs spawned meanwhile elsewhere never inherit
    /// it) whose ends sit above fd 4, so the child's dup2 onto 1–4 always takes effect.
    private static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        let created = fds.withUnsafeMutableBufferPointer { buffer in
            Self.pipe2.map { $0(buffer.baseAddress, O_CLOEXEC) } ?? pipe(buffer.baseAddress)
        }
        guard created == 0 else {
            throw WorkerError.launchFailed("pipe: \(String(cString: strerror(errno)))")
        }
        let read = fcntl(fds[0], F_DUPFD_CLOEXEC, 10)
        let write = fcntl(fds[1], F_DUPFD_CLOEXEC, 10)
        close(fds[0])
        close(fds[1])
        guard read >= 0, write >= 0 else { throw WorkerError.launchFailed("fcntl: \(String(cString: strerror(errno)))") }
        return (read, write)
    }

    /// Blocks a dedicated thread until the child exits, then reports how it ended.
    static func awaitExit(of pid: pid_t, _ onExit: @escaping @Sendable (ExitStatus) -> Void) {
        let thread = Thread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            onExit(ExitStatus(waitStatus: status))
        }
        thread.name = "chatfn-worker-reaper-\(pid)"
        thread.start()
    }
}

/// How a worker process ended.
package enum ExitStatus: Sendable, Hashable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    init(waitStatus: Int32) {
        let signal = waitStatus & 0x7f
        self = signal == 0 ? .exited((waitStatus >> 8) & 0xff) : .signaled(signal)
    }

    package var description: String {
        switch self {
        case .exited(let code): "exited with code \(code)"
        case .signaled(let signal): "killed by signal \(signal)"
        }
    }
}
