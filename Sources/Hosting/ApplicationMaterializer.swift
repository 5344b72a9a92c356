import Foundation
import Functions
import Registry

/// Writes a registry application as the directory a ``FunctionCatalog`` reads (`chatfn.json`,
/// `functions/<trigger>.<ext>`, `init.js`), so that registry and directory applications deploy one way:
/// snapshot, compile, install, confine. Each process writes under a directory of its own: several
/// chatfn processes on one machine never write the same files.
struct ApplicationMaterializer: Sendable {
    let base: URL

    /// `<cache>/hosted/<process id>.<random>@<host>`; the directories of this host's processes that are
    /// gone are removed (a cache shared between hosts keeps the others').
    init(cacheRoot: URL) {
        let hosted = cacheRoot.appendingPathComponent("hosted")
        let host = Self.hostName
        Self.removeAbandoned(in: hosted, host: host)
        base = hosted.appendingPathComponent("\(getpid()).\(UUID().uuidString.prefix(8).lowercased())@\(host)")
    }

    private static var hostName: String {
        ProcessInfo.processInfo.hostName.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }
    }

    static let initScriptFile = "init.js"

    /// The application's directory, brought up to date with `application`.
    func write(_ application: RegistryState.Application) throws -> String {
        let root = base.appendingPathComponent(application.id)
        let functions = root.appendingPathComponent("functions")
        try FileManager.default.createDirectory(at: functions, withIntermediateDirectories: true)
        var wanted: Set<String> = []
        for (trigger, version, _) in application.deployed {
            let name = "\(trigger).\(version.document.language.fileExtension)"
            wanted.insert(name)
            try Self.writeIfChanged(Data(version.document.handlerScript.utf8), to: functions.appendingPathComponent(name))
        }
        for stale in (try FileManager.default.contentsOfDirectory(atPath: functions.path)) where !wanted.contains(stale) {
            try FileManager.default.removeItem(at: functions.appendingPathComponent(stale))
        }
        let initScript = root.appendingPathComponent(Self.initScriptFile)
        if let script = application.initializationScript {
            try Self.writeIfChanged(Data(script.utf8), to: initScript)
        } else {
            try? FileManager.default.removeItem(at: initScript)
        }
        try Self.writeIfChanged(try manifest(of: application), to: root.appendingPathComponent(ApplicationManifest.fileName))
        return root.path
    }

    /// The number of each deployed function's live version.
    static func versionNumbers(of application: RegistryState.Application) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: application.deployed.map { ($0.trigger, $0.version.number) })
    }

    func remove(_ id: String) {
        try? FileManager.default.removeItem(at: base.appendingPathComponent(id))
    }

    func removeAll() {
        try? FileManager.default.removeItem(at: base)
    }

    private func manifest(of application: RegistryState.Application) throws -> Data {
        var runtime: [String: Any] = [:]
        if !application.environmentVariables.isEmpty { runtime["environment"] = application.environmentVariables }
        if application.initializationScript != nil { runtime["initScript"] = Self.initScriptFile }
        if let dependencies = application.dependencies, !dependencies.dependencies.isEmpty {
            runtime["dependencies"] = Dictionary(dependencies.dependencies.map { ($0.name, $0.version) }, uniquingKeysWith: { _, last in last })
            if let registry = dependencies.npmRegistry { runtime["npmRegistry"] = registry }
        }
        let options = application.options
        if let minWarm = options.minWarm { runtime["minWarm"] = minWarm }
        if let maxProcesses = options.maxProcesses { runtime["maxProcesses"] = maxProcesses }
        if let recycleAfter = options.recycleAfter { runtime["recycleAfter"] = recycleAfter }
        if let platform = options.platform { runtime["platform"] = ["baseUrl": platform.baseUrl, "tokenEnv": platform.tokenEnv].compactMapValues { $0 } }
        var functions: [String: Any] = [:]
        for (trigger, function) in application.functions {
            guard let settings = function.settings else { continue }
            functions[trigger] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(settings))
        }
        let manifest: [String: Any] = ["app": application.id, "runtime": runtime, "functions": functions]
        return try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys])
    }

    /// Leaves a file alone when it already holds `data`: its snapshot fingerprint stays the same.
    private static func writeIfChanged(_ data: Data, to url: URL) throws {
        if FileManager.default.contents(atPath: url.path) == data { return }
        try data.write(to: url, options: .atomic)
    }

    private static func removeAbandoned(in hosted: URL, host: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: hosted.path) else { return }
        for name in names where name.hasSuffix("@\(host)") {
            guard let pid = Int32(name.prefix { $0 != "." }), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(at: hosted.appendingPathComponent(name))
        }
    }
}
