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
    /// False for the read-only token.
    var canChange = true
}

extension APITokens {
    /// The caller of a route that needs a token (decided by the route matched, never by the raw path):
    /// 401 without a valid token, 403 for a change with the read-only token.
    func caller(of request: Request, changes: Bool) throws -> APICaller {
        let presented = request.headers.bearer?.token
        let access = access(for: presented)
        switch access {
        case .none:
            throw APIError(.unauthorized, presented == nil ? "missing bearer token (Authorization: Bearer TOKEN)" : "invalid token")
        case .read where changes:
            throw APIError(.forbidden, "the read-only token cannot make changes")
        case .read, .full:
            return APICaller(actor: ApplicationRegistry.Actor(token: isOpen ? nil : presented), canChange: access == .full)
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
