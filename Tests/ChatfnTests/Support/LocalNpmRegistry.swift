import Foundation
import NIOHTTP1
import Synchronization

/// An npm registry on 127.0.0.1 serving packages the test packs itself with `npm pack`: enough of the
/// registry API (packument, tarball) for a real `npm install`.
final class LocalNpmRegistry: Sendable {
    struct Package: Sendable {
        var name: String
        var version: String
        var tarball: [UInt8]
        var shasum: String
        var integrity: String
    }

    private let server: TestHTTPServer
    private let packages: [Package]
    private let requests = Atomic<Int>(0)
    let url: String

    private init(server: TestHTTPServer, packages: [Package]) {
        self.server = server
        self.packages = packages
        self.url = "\(server.baseURL)/"
    }

    /// Packs each `(name, version, index.js source)` with `npm pack` and serves the results.
    static func start(serving sources: [(name: String, version: String, code: String)]) async throws -> LocalNpmRegistry {
        let packed = try sources.map(pack)
        let box = RegistryBox()
        let server = try await TestHTTPServer.start { request in
            let (status, body) = box.registry.withLock { $0?.respond(to: request.path) } ?? (.serviceUnavailable, [])
            return (status, request.path.hasSuffix(".tgz") ? "application/octet-stream" : "application/json", body)
        }
        let registry = LocalNpmRegistry(server: server, packages: packed)
        box.registry.withLock { $0 = registry }
        return registry
    }

    var requestCount: Int { requests.load(ordering: .relaxed) }

    func shutdown() async {
        await server.shutdown()
    }

    /// The response to `GET path`: the packument of a package, or one of its tarballs.
    func respond(to path: String) -> (HTTPResponseStatus, [UInt8]) {
        requests.add(1, ordering: .relaxed)
        let parts = path.split(separator: "/").map(String.init)
        if parts.count == 1 {
            let versions = packages.filter { $0.name == parts[0] }
            guard let latest = versions.last else { return (.notFound, Array(#"{"error":"not found"}"#.utf8)) }
            var entries: [String: Any] = [:]
            for package in versions {
                entries[package.version] = [
                    "name": package.name, "version": package.version,
                    "dist": ["tarball": "\(url)\(package.name)/-/\(package.name)-\(package.version).tgz",
                             "shasum": package.shasum, "integrity": package.integrity],
                ]
            }
            let packument: [String: Any] = ["name": latest.name, "dist-tags": ["latest": latest.version], "versions": entries]
            return (.ok, Array((try? JSONSerialization.data(withJSONObject: packument)) ?? Data()))
        }
        if parts.count == 3, parts[1] == "-",
           let package = packages.first(where: { "\($0.name)-\($0.version).tgz" == parts[2] }) {
            return (.ok, package.tarball)
        }
        return (.notFound, Array(#"{"error":"not found"}"#.utf8))
    }

    private static func pack(_ source: (name: String, version: String, code: String)) throws -> Package {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chatfn-pack-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let manifest = #"{"name":"\#(source.name)","version":"\#(source.version)","main":"index.js"}"#
        try Data(manifest.utf8).write(to: directory.appendingPathComponent("package.json"))
        try Data(source.code.utf8).write(to: directory.appendingPathComponent("index.js"))
        let npm = Process()
        npm.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        npm.arguments = ["npm", "pack", "--json", "--loglevel=error"]
        npm.currentDirectoryURL = directory
        let output = Pipe()
        npm.standardOutput = output
        try npm.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        npm.waitUntilExit()
        guard let result = (try JSONSerialization.jsonObject(with: data) as? [[String: Any]])?.first,
              let filename = result["filename"] as? String, let shasum = result["shasum"] as? String,
              let integrity = result["integrity"] as? String,
              let tarball = FileManager.default.contents(atPath: directory.appendingPathComponent(filename).path)
        else { throw TestFailure("npm pack failed for \(source.name)") }
        return Package(name: source.name, version: source.version, tarball: Array(tarball), shasum: shasum, integrity: integrity)
    }
}

final class RegistryBox: Sendable {
    let registry = Mutex<LocalNpmRegistry?>(nil)
}
