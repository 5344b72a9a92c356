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

    /// `CHATFN_NODE`, else the first `node` on PATH.
    static func locateNode() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["CHATFN_NODE"], !explicit.isEmpty { return explicit }
        for directory in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/node"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
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
