import ChatEvents
import ChatfnCore
import Foundation
import Logging

/// What an application's runtime installs from npm.
package struct RuntimeDependencies: Sendable, Hashable {
    package var packages: [String: String]
    /// The registry to install from; nil: npm's default (which `npm_config_registry` may set).
    package var registry: String?

    package init(packages: [String: String], registry: String? = nil) {
        self.packages = packages
        self.registry = registry
    }

    /// Identifies the installed tree: the same dependencies install once per machine.
    var cacheKey: String {
        let canonical = packages.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" }.joined(separator: "\n")
        return ContentHash.hex(of: Array("\(canonical)\nregistry=\(registry ?? "")".utf8))
    }
}

/// Installs runtime dependencies with the real `npm`, once per dependency set per machine, into a
/// content-addressed cache (`<cache>/runtimes/<hash>`, lockfile kept). An install happens when a runtime
/// is loaded, never on the invocation path; a failed install throws npm's own message and leaves
/// whatever runtime was loaded before in service.
package struct RuntimeInstaller: Sendable {
    package var cacheRoot: URL

    /// `CHATFN_CACHE`, else `~/.cache/chatfn`.
    package init(cacheRoot: URL? = nil) {
        self.cacheRoot = cacheRoot ?? URL(fileURLWithPath: ChatfnEnvironment.cache)
    }

    /// The installed runtime's directory (holding `node_modules`), installing it first when needed.
    package func install(_ dependencies: RuntimeDependencies, logger: Logger) async throws -> String {
        let runtimes = cacheRoot.appendingPathComponent("runtimes")
        let target = runtimes.appendingPathComponent(dependencies.cacheKey)
        let marker = target.appendingPathComponent(".chatfn-complete")
        if FileManager.default.fileExists(atPath: marker.path) {
            // Installed earlier (perhaps by an older chatfn): checked again before it is used.
            try Self.refuseLinkEscapes(in: target.path)
            return target.path
        }

        let staging = runtimes.appendingPathComponent("\(dependencies.cacheKey).staging-\(UUID().uuidString.lowercased())")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: staging) }
        try RuntimePackage(dependencies: dependencies.packages).encoded().write(to: staging.appendingPathComponent("package.json"))

        logger.info("installing runtime dependencies", metadata: [
            "packages": "\(dependencies.packages.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" }.joined(separator: " "))",
        ])
        var arguments = ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--no-update-notifier", "--loglevel=error"]
        if let registry = dependencies.registry { arguments += ["--registry", registry] }
        let (status, output): (Int32, String)
        do {
            (status, output) = try await ChildCommand.run(try Self.locateNpm(), arguments, in: staging)
        } catch let error as CatalogError {
            throw error
        } catch {
            throw CatalogError("could not run npm: \(error.localizedDescription)")
        }
        guard status == 0 else {
            throw CatalogError("npm install failed (exit \(status)) for \(dependencies.packages.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" }.joined(separator: ", ")):\n\(output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        try Self.refuseLinkEscapes(in: staging.path)
        try Data().write(to: staging.appendingPathComponent(".chatfn-complete"))
        do {
            try FileManager.default.moveItem(at: staging, to: target)
        } catch where FileManager.default.fileExists(atPath: marker.path) {
            // Another chatfn on this machine installed the same runtime meanwhile: use that one.
        }
        return target.path
    }

    private static func refuseLinkEscapes(in directory: String) throws {
        let escapes = LinkEscapes.find(in: directory)
        guard escapes.isEmpty else {
            throw CatalogError("the runtime dependencies link outside their install directory (a file: or link: dependency?), which "
                + "functions could read through: \(escapes.prefix(5).joined(separator: ", ")); only registry packages are installed")
        }
    }

    private static func locateNpm() throws -> String {
        if let npm = ChatfnEnvironment.executable("npm") { return npm }
        throw CatalogError("npm was not found on PATH (set CHATFN_NPM): it installs runtime dependencies")
    }
}

/// The `package.json` npm installs a runtime from.
private struct RuntimePackage: Encodable {
    var name = "chatfn-runtime"
    var `private` = true
    var dependencies: [String: String]

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
