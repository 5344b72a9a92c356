import Functions
import Hummingbird
import Logging
import Registry

/// An application's runtime (dependencies, initialization script, environment) and its secrets.
extension ControlAPI {
    func showRuntime(_ context: ControlRequestContext) throws -> Response {
        try JSONCoding.response(APIModels.Runtime(try registry.existing(try parameter("app", context))))
    }

    /// Installs the dependencies here first, as workers will: a set npm cannot install is reported
    /// (422 and the runtime's `status`), and the previous runtime keeps serving.
    func putDependencies(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let app = try parameter("app", context)
        let body = try await decode(APIModels.Dependencies.self, request, context)
        _ = try registry.existing(app)
        let names = Set(body.dependencies.map(\.name))
        guard names.count == body.dependencies.count else { throw APIError(.badRequest, "a dependency is listed twice") }
        if let bad = body.dependencies.first(where: { $0.name.isEmpty || $0.version.isEmpty || $0.name.contains(" ") }) {
            throw APIError(.badRequest, "dependency \(bad.name)@\(bad.version): needs a name and a version")
        }
        let document = DependenciesDocument(dependencies: body.dependencies.sorted { $0.name < $1.name }, npmRegistry: body.npmRegistry)
        var installError: String?
        if !document.dependencies.isEmpty {
            do {
                _ = try await installer.install(
                    RuntimeDependencies(packages: Dictionary(uniqueKeysWithValues: document.dependencies.map { ($0.name, $0.version) }), registry: body.npmRegistry),
                    logger: context.logger)
            } catch {
                installError = "\(error)"
            }
        }
        try await registry.putDependencies(app, document, installError: installError, by: actor(context))
        if let installError { throw APIError(.unprocessableContent, installError) }
        return try showRuntime(context)
    }

    func putInitializationScript(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let app = try parameter("app", context)
        let body = try await decode(APIModels.InitializationScript.self, request, context)
        _ = try registry.existing(app)
        let script = body.script.flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        if let script { try await FunctionCompiler.check(script, typescript: false) }
        try await registry.putInitializationScript(app, script, by: actor(context))
        return try showRuntime(context)
    }

    func putEnvironment(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let app = try parameter("app", context)
        try await registry.putEnvironment(app, try await decode([String: String].self, request, context), by: actor(context))
        return try showRuntime(context)
    }

    func putOptions(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let app = try parameter("app", context)
        let body = try await decode(APIModels.Options.self, request, context)
        var manifestRuntime = ApplicationManifest.Runtime()
        manifestRuntime.minWarm = body.minWarm
        manifestRuntime.maxProcesses = body.maxProcesses
        manifestRuntime.recycleAfter = body.recycleAfter
        manifestRuntime.platform = body.platform
        if let problem = manifestRuntime.boundsProblem ?? manifestRuntime.problem { throw APIError(.badRequest, problem) }
        try await registry.putOptions(app, RuntimeOptionsDocument(minWarm: body.minWarm, maxProcesses: body.maxProcesses,
                                                                recycleAfter: body.recycleAfter, platform: body.platform), by: actor(context))
        return try showRuntime(context)
    }

    func listSecrets(_ context: ControlRequestContext) throws -> Response {
        let application = try registry.existing(try parameter("app", context))
        return try JSONCoding.response(application.secrets.sorted { $0.key < $1.key }.map { APIModels.Secret(name: $0.key, updatedTime: $0.value.updatedTime) })
    }

    func putSecret(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let (app, name) = (try parameter("app", context), try parameter("name", context))
        let body = try await decode(APIModels.SecretValue.self, request, context)
        guard body.value.utf8.count <= 65_536 else { throw APIError(.badRequest, "secret \(name) is larger than 64 KiB") }
        try await registry.putSecret(app, name: name, value: body.value, by: actor(context))
        return JSONCoding.noContent()
    }

    func deleteSecret(_ context: ControlRequestContext) async throws -> Response {
        try await registry.deleteSecret(try parameter("app", context), name: try parameter("name", context), by: actor(context))
        return JSONCoding.noContent()
    }
}
