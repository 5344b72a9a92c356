import ChatEvents
import Foundation

/// An application's `chatfn.json`, beside its `functions/` folder. Every key is optional.
///
/// ```json
/// { "app": "default", "runtime": { "environment": { "PUSH_URL": "https://push.example.com/send" } } }
/// ```
package struct ApplicationManifest: Sendable, Decodable, Equatable {
    package static let fileName = "chatfn.json"

    /// The application id the events name in `ce_appid`.
    package var app: String?
    package var runtime: Runtime?
    /// Per-trigger settings.
    package var functions: [String: FunctionSettings]?

    package struct Runtime: Sendable, Decodable, Equatable {
        /// Environment variables the functions see (and nothing of chatfn's own environment).
        package var environment: [String: String]?
        /// A script (relative to the application directory) run once in each worker process before its
        /// first invocation; what it exports is `context.init`.
        package var initScript: String?
        /// npm packages functions `require`: name → version.
        package var dependencies: [String: String]?
        /// The registry to install them from (default: npm's, which `npm_config_registry` may set).
        package var npmRegistry: String?
        /// The chat platform's HTTP API behind `context.api`.
        package var platform: Platform?
        /// Worker processes kept started when idle (no cold start for the first events).
        package var minWarm: Int?
        /// Most worker processes for non-blocking events.
        package var maxProcesses: Int?
        /// A process is replaced after this many invocations.
        package var recycleAfter: Int?

        package init() {}

        /// The first bound a number breaks, as `key: reason`.
        package var boundsProblem: String? { outOfBounds(self, Self.bounds) }

        /// Environment variables an application may not set: they steer Node (`NODE_OPTIONS` would lift
        /// the permission model), the dynamic loader and libc of the programs that start a worker, or the
        /// worker's own paths.
        package static func isReserved(_ name: String) -> Bool {
            let prefixes = ["NODE_", "LD_", "GLIBC_", "MALLOC_", "CHATFN_", "UV_", "OPENSSL_", "SSL_"]
            let names: Set<String> = ["PATH", "HOME", "TMPDIR", "ENV", "BASH_ENV", "IFS", "SHELLOPTS", "PS4", "GCONV_PATH",
                                      "LOCPATH", "NLSPATH", "HOSTALIASES", "RES_OPTIONS", "LOCALDOMAIN", "TZDIR"]
            let upper = name.uppercased()
            return names.contains(upper) || prefixes.contains { upper.hasPrefix($0) } || name.isEmpty || name.contains("=")
        }

        /// The prefix of the variables `platform.tokenEnv` may name: an operator exposes a token to an
        /// application by naming it so, and no other variable of chatfn's can be sent anywhere.
        static let tokenVariablePrefix = "CHATFN_PLATFORM_TOKEN"

        /// What is wrong with the environment or the platform settings, as `key: reason`.
        package var problem: String? {
            if let reserved = environment?.keys.sorted().first(where: Self.isReserved) {
                return "environment.\(reserved): reserved (NODE_*, OPENSSL_*, SSL_*, LD_*, GLIBC_*, MALLOC_*, UV_*, CHATFN_*, PATH, HOME, TMPDIR and shell variables steer the runtime itself)"
            }
            if let tokenEnv = platform?.tokenEnv, !tokenEnv.hasPrefix(Self.tokenVariablePrefix) {
                return "platform.tokenEnv: must name a variable starting with \(Self.tokenVariablePrefix) (got \(tokenEnv))"
            }
            return nil
        }

        static var bounds: [(key: String, value: KeyPath<Runtime, Int?>, range: ClosedRange<Int>)] { [
            ("minWarm", \.minWarm, 0...64),
            ("maxProcesses", \.maxProcesses, 1...256),
            ("recycleAfter", \.recycleAfter, 1...1_000_000_000),
        ] }
    }

    /// Where `context.api` sends requests. The bearer token is never written in `chatfn.json`: it is
    /// read from chatfn's environment variable `tokenEnv`, and functions cannot read it back.
    package struct Platform: Sendable, Codable, Hashable {
        package var baseUrl: String
        package var tokenEnv: String?
    }

    package init(app: String? = nil, runtime: Runtime? = nil, functions: [String: FunctionSettings]? = nil) {
        self.app = app
        self.runtime = runtime
        self.functions = functions
    }

    /// The settings of `trigger`, with chatfn's defaults where the manifest is silent.
    package func settings(for trigger: String) -> FunctionSettings {
        functions?[trigger] ?? FunctionSettings()
    }

    package var environment: [String: String] { runtime?.environment ?? [:] }

    /// The npm dependencies to install; nil when there are none.
    package var dependencies: RuntimeDependencies? {
        guard let packages = runtime?.dependencies, !packages.isEmpty else { return nil }
        return RuntimeDependencies(packages: packages, registry: runtime?.npmRegistry)
    }

    /// Reads `DIR/chatfn.json`; a directory without one has the defaults. It must be JSON (an error says
    /// where it is not) with only the keys chatfn knows (``ManifestKeys``; docs/chatfn.schema.json).
    /// - Parameter displayedAs: the file as its author knows it, for errors (a snapshot is read instead).
    package static func load(fromDirectory directory: String, displayedAs: String? = nil) throws -> ApplicationManifest {
        let file = URL(fileURLWithPath: directory).appendingPathComponent(fileName).path
        let path = displayedAs ?? file
        guard let data = FileManager.default.contents(atPath: file) else { return ApplicationManifest() }
        if let problem = JSONSyntax.firstProblem(in: Array(data)) {
            throw CatalogError("\(path):\(problem.line):\(problem.column): \(problem.message)")
        }
        if let json = try? JSONSerialization.jsonObject(with: data), let problem = ManifestKeys.manifest.firstUnknownKey(in: json) {
            throw CatalogError("invalid \(path): \(problem)")
        }
        do {
            let manifest = try JSONDecoder().decode(ApplicationManifest.self, from: data)
            for (trigger, settings) in (manifest.functions ?? [:]).sorted(by: { $0.key < $1.key }) {
                if let problem = settings.problem { throw CatalogError("invalid \(path): functions.\(trigger).\(problem)") }
            }
            if let runtime = manifest.runtime, let problem = outOfBounds(runtime, Runtime.bounds) {
                throw CatalogError("invalid \(path): runtime.\(problem)")
            }
            if let problem = manifest.runtime?.problem { throw CatalogError("invalid \(path): runtime.\(problem)") }
            return manifest
        } catch let error as CatalogError {
            throw error
        } catch let error as DecodingError {
            throw CatalogError("invalid \(path): \(error.readableDescription)")
        } catch {
            throw CatalogError("invalid \(path): \(error.localizedDescription)")
        }
    }
}
