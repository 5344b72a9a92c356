import HTTPTypes
import Hummingbird

/// Headers on every response of the control plane's server, pages and API alike: scripts, styles and
/// connections from this origin only (no inline script, no third-party host), never framed, no referrer,
/// no content sniffing.
package struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    package static var contentSecurityPolicy: String {
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    }

    package init() {}

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var response = try await next(request, context)
            Self.add(to: &response.headers)
            return response
        } catch let error as any HTTPResponseError {
            var response = try error.response(from: request, context: context)
            Self.add(to: &response.headers)
            return response
        }
    }

    private static func add(to headers: inout HTTPFields) {
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[.xContentTypeOptions] = "nosniff"
        for (name, value) in [("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY")] {
            // Both names are valid tokens: `HTTPField.Name` refuses only names with other characters.
            if let name = HTTPField.Name(name) { headers[name] = value }
        }
    }
}
