import ChatfnCore
import Foundation

/// How to start a Node worker process.
public struct WorkerConfiguration: Sendable {
    /// The `node` executable.
    public var nodePath: String
    /// The harness script the worker runs.
    public var harnessPath: String
    /// The worker's whole environment: chatfn's own environment is never inherited.
    public var environment: [String: String]
    /// How long a new worker may take to report ready.
    public var startTimeout: Duration
    /// Scheduling niceness of the worker processes (0–19): the non-blocking lane's workers run nicer
    /// than the blocking lane's, so that a backlog yields the CPU to a waiting sign-in.
    public var niceness: Int32 = 0
    /// Confines the worker's file system access (Node 20 or newer); nil: unconfined.
    public var sandbox: WorkerSandbox? {
        didSet {
            guard let sandbox else { return }
            environment["TMPDIR"] = sandbox.scratchDirectory
            environment["HOME"] = sandbox.scratchDirectory
        }
    }
    /// V8's old-space limit (`--max-old-space-size`): a function that allocates past it crashes its
    /// process, which the pool replaces, instead of starving the machine.
    public var memoryLimitMb: Int?

    /// The arguments `node` is started with.
    var nodeArguments: [String] {
        var arguments = ["--enable-source-maps"]  // stack traces of compiled functions point at their sources
        if let memoryLimitMb { arguments.append("--max-old-space-size=\(memoryLimitMb)") }
        if let sandbox { arguments += sandbox.nodeArguments(harnessPath: harnessPath) }
        return arguments + [harnessPath]
    }

    public init(
        nodePath: String? = nil, harnessPath: String? = nil, environment: [String: String]? = nil,
        startTimeout: Duration = .seconds(15)
    ) throws {
        self.nodePath = try nodePath ?? Self.locateNode()
        self.harnessPath = try harnessPath ?? Self.locateHarness()
        self.environment = environment ?? Self.baseEnvironment()
        self.startTimeout = startTimeout
    }

    /// PATH, HOME and TMPDIR only: functions see no credentials of chatfn's.
    public static func baseEnvironment() -> [String: String] {
        let inherited = ProcessInfo.processInfo.environment
        return [
            "PATH": inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
            "HOME": inherited["HOME"] ?? "/tmp",
            "TMPDIR": NSTemporaryDirectory(),
        ]
    }

    /// Node's permission model (`--experimental-permission`) exists from Node 20 on.
    public var supportsPermissionModel: Bool {
        guard let (status, output) = try? ChildCommand.run(nodePath, ["-p", "process.versions.node.split('.')[0]"]), status == 0 else {
            return false
        }
        return (Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) >= 20
    }

    /// `CHATFN_NODE`, else the first `node` on PATH.
    static func locateNode() throws -> String {
        if let node = ExecutableLocator.find("node", overrideVariable: "CHATFN_NODE") { return node }
        throw WorkerError.launchFailed("node was not found on PATH (set CHATFN_NODE to its path); chatfn runs functions with Node.js 20 or newer")
    }

    /// `CHATFN_HARNESS`, else the copy bundled with chatfn.
    static func locateHarness() throws -> String {
        if let explicit = ProcessInfo.processInfo.environment["CHATFN_HARNESS"], !explicit.isEmpty { return explicit }
        guard let url = Bundle.module.url(forResource: "harness", withExtension: "js", subdirectory: "Harness") else {
            throw WorkerError.launchFailed("the worker harness (Harness/harness.js) is missing from chatfn's resources")
        }
        return url.path
    }
}

/// Why a worker could not be used.
public enum WorkerError: Error, CustomStringConvertible, Sendable {
    case launchFailed(String)

    public var description: String {
        switch self {
        case .launchFailed(let reason): "could not start a Node worker: \(reason)"
        }
    }
}
