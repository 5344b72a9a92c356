import ChatEvents
import Functions
import Hummingbird
import Registry

/// Applications and their functions' versions.
extension ControlAPI {
    func listApplications() throws -> Response {
        try JSONCoding.response(registry.state.applications.values.sorted { $0.id < $1.id }.map(APIModels.Application.init))
    }

    func showApplication(_ context: ControlRequestContext) throws -> Response {
        try JSONCoding.response(APIModels.Application(try registry.existing(try parameter("app", context))))
    }

    func createApplication(_ context: ControlRequestContext) async throws -> Response {
        let (application, created) = try await registry.createApplication(try parameter("app", context), by: actor(context))
        return try JSONCoding.response(APIModels.Application(application), status: created ? .created : .ok)
    }

    func deleteApplication(_ context: ControlRequestContext) async throws -> Response {
        let id = try parameter("app", context)
        try await registry.deleteApplication(id, by: actor(context))
        invocations.forget(application: id)
        return JSONCoding.noContent()
    }

    func listFunctions(_ context: ControlRequestContext) throws -> Response {
        let application = try registry.existing(try parameter("app", context))
        let functions = application.functions.sorted { $0.key < $1.key }.map { trigger, function in
            APIModels.Function(trigger: trigger, blocking: BlockingTriggers.isBlocking(trigger), currentVersionNumber: function.current?.number,
                               settings: function.settings ?? FunctionSettings())
        }
        return try JSONCoding.response(functions)
    }

    func putSettings(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let (app, trigger) = (try parameter("app", context), try parameter("trigger", context))
        let settings = try await decode(FunctionSettings.self, request, context)
        try await registry.putSettings(app, trigger: trigger, settings, by: actor(context))
        return try JSONCoding.response(settings)
    }

    func undeploy(_ context: ControlRequestContext) async throws -> Response {
        try await registry.undeploy(try parameter("app", context), trigger: try parameter("trigger", context), by: actor(context))
        return JSONCoding.noContent()
    }

    /// Saving deploys. A script that does not compile is refused (422, at its line and column) and the
    /// live version stays.
    func saveVersion(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let (app, trigger) = (try parameter("app", context), try parameter("trigger", context))
        let body = try await decode(APIModels.SaveVersion.self, request, context)
        _ = try registry.existing(app)
        if let problem = RegistryNames.problem(trigger: trigger) { throw APIError(.badRequest, problem) }
        let language = body.language ?? .javascript
        try await FunctionCompiler.check(body.handlerScript, typescript: language == .typescript)
        let version = try await registry.saveVersion(app, trigger: trigger, script: body.handlerScript, language: language,
                                                     requestId: body.requestId, by: actor(context))
        return try JSONCoding.response(APIModels.Version(version, withScript: false), status: .created)
    }

    func rollback(_ request: Request, _ context: ControlRequestContext) async throws -> Response {
        let (app, trigger) = (try parameter("app", context), try parameter("trigger", context))
        let body = try await decode(APIModels.Rollback.self, request, context)
        let version = try await registry.rollback(app, trigger: trigger, to: body.versionNumber, by: actor(context))
        return try JSONCoding.response(APIModels.Version(version, withScript: false), status: .created)
    }

    func listVersions(_ context: ControlRequestContext) throws -> Response {
        try JSONCoding.response(try function(context).versions.map { APIModels.Version($0, withScript: false) })
    }

    func showVersion(_ context: ControlRequestContext) throws -> Response {
        let text = try parameter("number", context)
        guard let number = Int(text) else { throw APIError(.badRequest, "version number \(text) is not a number") }
        guard let version = try function(context).versions.first(where: { $0.number == number }) else {
            throw APIError(.notFound, "no version \(number)")
        }
        return try JSONCoding.response(APIModels.Version(version, withScript: true))
    }

    func currentVersion(_ context: ControlRequestContext) throws -> Response {
        guard let version = try function(context).current else { throw APIError(.notFound, "\(try parameter("trigger", context)) is not deployed") }
        return try JSONCoding.response(APIModels.Version(version, withScript: true))
    }

    private func function(_ context: ControlRequestContext) throws -> RegistryState.Function {
        let (app, trigger) = (try parameter("app", context), try parameter("trigger", context))
        guard let function = try registry.existing(app).functions[trigger] else { throw APIError(.notFound, "\(app) has no function \(trigger)") }
        return function
    }
}
