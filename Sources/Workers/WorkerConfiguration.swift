import ChatfnCore
import Foundation

/// How to start a Node worker process.
package struct WorkerConfiguration: Sendable {
    /// The `node` executable.
    package var nodePath: String
    /// The harness script the worker runs.
    package var harnessPath: String
    /// The worker's whole environment: chatfn's own environment is never inherited.
    package var environment: [String: String]
    /// How long a new worker may take to report ready.
    package var startTimeout: Duration
    /// The worker processes' scheduling class: the non-blocking lane's run in its background class, so
    /// that a backlog yields the CPU to a waiting sign-in.
    package var scheduling: LaneScheduling = .normal
    /// Confines the worker's file system access (Node 20 or newer); nil: unconfined.
    package var sandbox: WorkerSandbox?
    /// Namespaces and resource limits around each process: none until set, as applications' runtimes do
    /// with ``WorkerIsolation/detected()``.
    package var isolation: WorkerIsolation = .none
    /// The whole process's memory (`memoryMb`): its data segment (V8's heap, buffers, native
    /// allocations) is limited to this, with V8's old space ``nodeReservedMb`` below it. A function that
    /// goes over it ends as `crashed`, with a message naming the limit.
    package var memoryLimitMb: Int?
    /// Bound of each process's scratch directory.
    package var scratchLimitMb = 64
    /// The chat platform behind `context.api`; handed to the harness over its pipe, never in its
    /// environment.
    package var platform: PlatformAccess?
    /// The application's secrets (`context.secrets`): sent over the pipe with the first frame, never in
    /// the environment or on a command line.
    package var secrets: [String: String] = [:]

    /// What Node itself needs of `memoryLimitMb` besides the V8 heap.
    static let nodeReservedMb = 64

    /// The command line of a worker with `scratch` as its scratch directory.
    func commandLine(scratch: ScratchDirectory) -> [String] {
        // Source maps: stack traces of compiled functions point at their sources. An empty OpenSSL
        // configuration: a config file can load native modules outside the permission model.
        var node = [nodePath, "--enable-source-maps", "--openssl-config=/dev/null"]
        if let memoryLimitMb { node.append("--max-old-space-size=\(max(memoryLimitMb - Self.nodeReservedMb, 16))") }
        if let sandbox { node += sandbox.nodeArguments(harnessPath: harnessPath, scratchDirectory: scratch.path) }
        node.append(harnessPath)
        let dataLimit = memoryLimitMb.map { $0.multipliedSaturated(by: 1_048_576) }
        return isolation.commandLine(node, scheduling: scheduling, dataLimitBytes: dataLimit, scratch: scratch.path, scratchLimitMb: scratchLimitMb)
    }

    /// The environment of a worker with `scratch` as its HOME and TMPDIR.
    func environment(scratch: ScratchDirectory) -> [String: String] {
        environment.merging(["HOME": scratch.path, "TMPDIR": scratch.path]) { $1 }
    }

    package init(
        nodePath: String? = nil, harnessPath: String? = nil, environment: [String: String]? = nil,
        startTimeout: Duration = .seconds(15)
    ) throws {
        self.nodePath = try nodePath ?? Self.locateNode()
        self.harnessPath = try harnessPath ?? Self.locateHarness()
        self.environment = environment ?? Self.baseEnvironment()
        self.startTimeout = startTimeout
    }

    /// PATH, HOME and TMPDIR only: functions see no credentials of chatfn's.
    package static func baseEnvironment() -> [String: String] {
        ["PATH": ChatfnEnvironment.path, "HOME": ChatfnEnvironment.userHome, "TMPDIR": NSTemporaryDirectory()]
    }

    /// Node's permission model (`--experimental-permission`) exists from Node 20 on.
    package func supportsPermissionModel() async -> Bool {
        guard let (status, output) = try? await ChildCommand.run(nodePath, ["-p", "process.versions.node.split('.')[0]"]), status == 0 else {
            return false
        }
        return (Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= 20
    }

    /// `CHATFN_NODE`, else the first `node` on PATH.
    static func locateNode() throws -> String {
        if let node = ChatfnEnvironment.executable("node") { return node }
        throw WorkerError.launchFailed("node was not found on PATH (set CHATFN_NODE to its path); chatfn runs functions with Node.js 20 or newer")
    }

    /// `CHATFN_HARNESS`, else the copy bundled with chatfn.
    static func locateHarness() throws -> String {
        if let explicit = ChatfnEnvironment.harness { return explicit }
        guard let url = Bundle.module.url(forResource: "harness", withExtension: "js", subdirectory: "Harness") else {
            throw WorkerError.launchFailed("the worker harness (Harness/harness.js) is missing from chatfn's resources")
        }
        return url.path
    }
}

/// Where `context.api` sends requests, and the bearer token it adds.
package struct PlatformAccess: Sendable, Hashable {
    package var baseUrl: String
    package var token: String?

    package init(baseUrl: String, token: String?) {
        self.baseUrl = baseUrl
        self.token = token
    }
}

/// Why a worker could not be used.
package enum WorkerError: Error, CustomStringConvertible, Sendable {
    case launchFailed(String)

    package var description: String {
        switch self {
        case .launchFailed(let reason): "could not start a Node worker: \(reason)"
        }
    }
}
