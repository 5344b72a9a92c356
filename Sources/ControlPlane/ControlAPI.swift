import Dispatcher
import Foundation
import Functions
import HTTPTypes
import Hosting
import Hummingbird
import KafkaClient
import Logging
import Registry

/// The control plane's API (docs/api.md): every route, with the dependencies its handlers use.
package struct ControlAPI: Sendable {
    package let registry: ApplicationRegistry
    package let invocations: InvocationLog
    /// Runs test invocations, in the application's sandbox with its runtime and secrets.
    package let applications: RegistryApplications
    package let kafka: KafkaConfiguration
    package let deadLetterTopic: String
    package let installer: RuntimeInstaller

    package init(registry: ApplicationRegistry, invocations: InvocationLog, applications: RegistryApplications, kafka: KafkaConfiguration,
                 deadLetterTopic: String = OutputTopics().deadLetters, installer: RuntimeInstaller = RuntimeInstaller()) {
        self.registry = registry
        self.invocations = invocations
        self.applications = applications
        self.kafka = kafka
        self.deadLetterTopic = deadLetterTopic
        self.installer = installer
    }

    typealias Handler = @Sendable (ControlAPI, Request, ControlRequestContext) async throws -> Response

    struct Route: Sendable {
        var method: HTTPRequest.Method
        /// Hummingbird's form: `:name` for a parameter.
        var path: String
        var handle: Handler
    }

    /// Every route of the API. The OpenAPI document (`openapi.json`) is checked against this table.
    static let routes: [Route] = {
        let app = "/v1/applications/:app"
        let function = "\(app)/functions/:trigger"
        return [
            Route(method: .get, path: "/v1/session") { api, _, context in try api.session(context) },
            Route(method: .get, path: "/v1/triggers") { api, _, _ in try api.listTriggers() },
            Route(method: .get, path: "/v1/applications") { api, _, _ in try api.listApplications() },
            Route(method: .put, path: app) { api, _, context in try await api.createApplication(context) },
            Route(method: .get, path: app) { api, _, context in try api.showApplication(context) },
            Route(method: .delete, path: app) { api, _, context in try await api.deleteApplication(context) },
            Route(method: .get, path: "\(app)/functions") { api, _, context in try api.listFunctions(context) },
            Route(method: .delete, path: function) { api, _, context in try await api.undeploy(context) },
            Route(method: .put, path: "\(function)/settings") { api, request, context in try await api.putSettings(request, context) },
            Route(method: .post, path: "\(function)/versions") { api, request, context in try await api.saveVersion(request, context) },
            Route(method: .get, path: "\(function)/versions") { api, _, context in try api.listVersions(context) },
            Route(method: .get, path: "\(function)/versions/:number") { api, _, context in try api.showVersion(context) },
            Route(method: .get, path: "\(function)/current-version") { api, _, context in try api.currentVersion(context) },
            Route(method: .post, path: "\(function)/rollback") { api, request, context in try await api.rollback(request, context) },
            Route(method: .post, path: "\(function)/test") { api, request, context in try await api.test(request, context) },
            Route(method: .get, path: "\(function)/invocations") { api, request, context in try api.listInvocations(request, context, allFunctions: false) },
            Route(method: .get, path: "\(app)/invocations") { api, request, context in try api.listInvocations(request, context, allFunctions: true) },
            Route(method: .get, path: "\(app)/runtime") { api, _, context in try api.showRuntime(context) },
            Route(method: .put, path: "\(app)/runtime/dependencies") { api, request, context in try await api.putDependencies(request, context) },
            Route(method: .put, path: "\(app)/runtime/initialization-script") { api, request, context in try await api.putInitializationScript(request, context) },
            Route(method: .put, path: "\(app)/runtime/environment-variables") { api, request, context in try await api.putEnvironment(request, context) },
            Route(method: .put, path: "\(app)/runtime/options") { api, request, context in try await api.putOptions(request, context) },
            Route(method: .get, path: "\(app)/secrets") { api, _, context in try api.listSecrets(context) },
            Route(method: .put, path: "\(app)/secrets/:name") { api, request, context in try await api.putSecret(request, context) },
            Route(method: .delete, path: "\(app)/secrets/:name") { api, _, context in try await api.deleteSecret(context) },
            Route(method: .get, path: "\(app)/dead-letters") { api, _, context in try await api.listDeadLetters(context) },
            Route(method: .post, path: "\(app)/dead-letters/replay") { api, request, context in try await api.replayDeadLetters(request, context) },
            Route(method: .get, path: "/v1/openapi.json") { _, _, _ in try ControlAPI.openAPIDocument() },
        ]
    }()

    /// Every route as `METHOD /path/{parameter}`, the OpenAPI form.
    package static var routeSignatures: [String] {
        routes.map { route in
            let path = route.path.split(separator: "/", omittingEmptySubsequences: false)
                .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            return "\(route.method.rawValue) \(path)"
        }
    }

    /// The OpenAPI document (`openapi.json`, a resource of this module), as served by `GET /v1/openapi.json`.
    package static func openAPIDocumentData() throws -> Data {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"), let data = FileManager.default.contents(atPath: url.path) else {
            throw APIError(.internalServerError, "the OpenAPI document is missing from chatfn's resources")
        }
        return data
    }

    static func openAPIDocument() throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: try openAPIDocumentData())))
    }

    // MARK: request helpers

    func parameter(_ name: String, _ context: ControlRequestContext) throws -> String {
        guard let value = context.parameters.get(name) else { throw APIError(.badRequest, "missing \(name)") }
        return value.removingPercentEncoding ?? value
    }

    func decode<Body: Decodable>(_ type: Body.Type, _ request: Request, _ context: ControlRequestContext) async throws -> Body {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw APIError(.contentTooLarge, "request body larger than \(context.maxUploadSize / 1_048_576) MiB")
        }
        do {
            return try JSONDecoder().decode(Body.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw APIError(.badRequest, "invalid request body: \(error.readableDescription)")
        } catch {
            throw APIError(.badRequest, "invalid request body: \(error)")
        }
    }

    func actor(_ context: ControlRequestContext) -> ApplicationRegistry.Actor { context.caller.actor }
}
