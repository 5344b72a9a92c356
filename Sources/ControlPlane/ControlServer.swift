import AdminServer
import ChatfnCore
import Dashboard
import Hummingbird
import Logging

/// The control plane's HTTP server: the dashboard at `/`, the API under `/v1/`, `/healthz`, `/metrics`,
/// and `/readyz` (ready once the registry has been read to its end).
package enum ControlServer {
    package static func application(
        api: ControlAPI, dashboard: Dashboard, tokens: APITokens, host: String, port: Int, logger: Logger,
        onServerRunning: (@Sendable (Int) async -> Void)? = nil
    ) -> some ApplicationProtocol {
        let router = Router(context: ControlRequestContext.self)
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: JSONErrorMiddleware())
        dashboard.addRoutes(to: router)
        router.get("healthz") { _, _ in "ok\n" }
        router.get("metrics") { _, _ in
            let registry = api.registry.follower
            return PrometheusExport.response { ChatfnMetrics.registryVersion(registry.state.appliedOffset + 1) }
        }
        router.get("readyz") { _, _ -> Response in
            api.registry.follower.isCaughtUp
                ? Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ready\n")))
                : Response(status: .serviceUnavailable, body: ResponseBody(byteBuffer: ByteBuffer(string: "reading the registry\n")))
        }
        for route in ControlAPI.routes {
            let open = route.path == "/v1/openapi.json"
            router.on(RouterPath(route.path), method: route.method) { request, context in
                var context = context
                let changes = route.method != .get && route.method != .head
                try RequestOrigin.check(request, changes: changes, open: tokens.isOpen)
                // Every route but the document needs a token, whatever path reached it (`//v1/…` too).
                if !open { context.caller = try tokens.caller(of: request, changes: changes) }
                guard api.registry.follower.isCaughtUp || open else {
                    throw APIError(.serviceUnavailable, "the control plane is still reading the registry")
                }
                return try await route.handle(api, request, context)
            }
        }
        return Application(
            router: router, configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "chatfn"),
            onServerRunning: { channel in await onServerRunning?(channel.localAddress?.port ?? port) }, logger: logger)
    }
}
