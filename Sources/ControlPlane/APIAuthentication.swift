import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import Registry

/// Who may call the API: `CHATFN_API_TOKEN` may do anything, `CHATFN_API_READ_TOKEN` may only read
/// (GET). Without a full-access token (allowed on a loopback address only) every caller has full access.
package struct APITokens: Sendable {
    package var full: String?
    package var read: String?

    package init(full: String?, read: String?) {
        self.full = full
        self.read = read
    }

    package var isOpen: Bool { full == nil }

    enum Access { case full, read, none }

    func access(for presented: String?) -> Access {
        guard let full else { return .full }
        guard let presented else { return .none }
        if Self.same(presented, full) { return .full }
        if let read, Self.same(presented, read) { return .read }
        return .none
    }

    /// Compares digests, so the time taken says nothing about how much of a token matched.
    private static func same(_ a: String, _ b: String) -> Bool {
        let (left, right) = (SHA256.hash(data: Data(a.utf8)), SHA256.hash(data: Data(b.utf8)))
        return zip(left, right).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// The request's caller, once authenticated: who the registry records as having made a change.
struct APICaller: Sendable {
    var actor: ApplicationRegistry.Actor
}

/// Checks the bearer token of every `/v1/` request but the OpenAPI document: 401 without a valid one,
/// 403 for a write with the read-only token.
struct BearerTokenMiddleware: RouterMiddleware {
    typealias Context = ControlRequestContext
    let tokens: APITokens

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/v1/"), request.uri.path != "/v1/openapi.json" else { return try await next(request, context) }
        let presented = request.headers.bearer?.token
        switch tokens.access(for: presented) {
        case .none:
            throw APIError(.unauthorized, presented == nil ? "missing bearer token (Authorization: Bearer TOKEN)" : "invalid token")
        case .read where request.method != .get && request.method != .head:
            throw APIError(.forbidden, "the read-only token cannot make changes")
        case .read, .full:
            var context = context
            context.caller = APICaller(actor: ApplicationRegistry.Actor(token: tokens.isOpen ? nil : presented))
            return try await next(request, context)
        }
    }
}

/// Hummingbird's request context, with the authenticated caller.
package struct ControlRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    var caller = APICaller(actor: ApplicationRegistry.Actor(token: nil))

    package init(source: Source) {
        coreContext = .init(source: source)
    }

    /// Request bodies larger than this are refused (413).
    package var maxUploadSize: Int { 2 * 1_048_576 }
}
