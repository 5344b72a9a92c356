import HTTPTypes
import Hummingbird

/// What a browser can send without the API's consent, refused: a change from another site (a page
/// elsewhere posting to chatfn, which a browser sends with no preflight when the body is not JSON), a
/// body that is not JSON, and, when the API needs no token, a request for another host name (DNS
/// rebinding: a name of the attacker's that resolves to 127.0.0.1 would make its page same-origin).
enum RequestOrigin {
    static func check(_ request: Request, changes: Bool, open: Bool) throws {
        if open, let host = request.head.authority, !isLoopbackHost(host) {
            throw APIError(.forbidden, "this API needs no token, so it answers only requests for a loopback host (localhost, 127.0.0.1, [::1]), not \(host)")
        }
        guard changes else { return }
        if let site = request.headers[secFetchSite], site != "same-origin", site != "none" {
            throw APIError(.forbidden, "changes are accepted from chatfn's own pages only (Sec-Fetch-Site: \(site))")
        }
        if let origin = request.headers[.origin], let host = request.head.authority,
           origin != "http://\(host)", origin != "https://\(host)" {
            throw APIError(.forbidden, "changes are accepted from chatfn's own pages only (Origin: \(origin))")
        }
        if hasBody(request), request.headers[.contentType].map({ !$0.lowercased().hasPrefix("application/json") }) ?? true {
            throw APIError(.unsupportedMediaType, "send the request body as JSON, with Content-Type: application/json")
        }
    }

    private static let secFetchSite = HTTPField.Name("Sec-Fetch-Site") ?? .origin

    private static func hasBody(_ request: Request) -> Bool {
        if let length = request.headers[.contentLength], let bytes = Int(length) { return bytes > 0 }
        return request.headers[.transferEncoding] != nil
    }

    /// `localhost`, `127.x.y.z` or `[::1]`, with or without a port.
    static func isLoopbackHost(_ authority: String) -> Bool {
        var name = Substring(authority)
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { return false }
            return name[name.index(after: name.startIndex)..<close] == "::1"
        }
        if let colon = name.lastIndex(of: ":") { name = name[..<colon] }
        if name == "localhost" { return true }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
