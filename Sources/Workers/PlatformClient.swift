import ChatfnCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A function's `context.api` request, as the worker sends it to chatfn.
struct PlatformRequest: Sendable, Equatable {
    /// Numbers the worker's outstanding requests: the answer carries it back.
    var number: UInt32
    var method: String
    var path: String
    /// JSON, or empty for none.
    var body: [UInt8]
}

/// What chatfn answers a ``PlatformRequest`` with.
struct PlatformResponse: Sendable, Equatable {
    var status: Int?
    var pathname: String
    var attempts: Int
    var body: [UInt8]
    /// Why no response could be had; `invalid`: the request itself was refused (a path that is not
    /// relative to the base URL).
    var error: String?
    var invalid = false
}

/// The chat platform's HTTP API, called by chatfn on behalf of functions (`context.api`): the bearer
/// token stays in chatfn, so no function can read it or send it elsewhere, whatever it does to its own
/// process (replace `fetch`, its dispatcher, `http`). Only paths under the base URL are accepted;
/// 429 and 5xx are retried with backoff (honouring `Retry-After` up to 5 s).
struct PlatformClient: Sendable {
    let baseURL: URL
    let token: String?
    static let attempts = 4
    static let maxResponseBytes = 4 * 1_024 * 1_024
    static let methods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    init?(_ access: PlatformAccess) {
        let base = access.baseUrl.hasSuffix("/") ? access.baseUrl : access.baseUrl + "/"
        guard let url = URL(string: base), url.scheme == "http" || url.scheme == "https", url.host != nil else { return nil }
        self.baseURL = url
        self.token = access.token
    }

    /// The URL `path` names under the base URL; nil with the reason when it is not relative to it.
    func url(for path: String) -> Result<URL, PlatformRefusal> {
        let described = path.truncated(toUTF8Bytes: 200).escapingControlCharacters()
        if path.range(of: #"^[A-Za-z][A-Za-z0-9+.-]*:"#, options: .regularExpression) != nil || path.hasPrefix("//") || path.contains("\\") {
            return .failure(PlatformRefusal("\"\(described)\" is not a path relative to the platform's base URL (absolute URLs are refused)"))
        }
        let relative = String(path.drop { $0 == "/" })
        guard let url = URL(string: relative, relativeTo: baseURL)?.absoluteURL else {
            return .failure(PlatformRefusal("\"\(described)\" is not a valid URL path"))
        }
        let basePath = baseURL.path.hasSuffix("/") ? baseURL.path : baseURL.path + "/"
        guard url.scheme == baseURL.scheme, url.host == baseURL.host, url.port == baseURL.port, (url.path + "/").hasPrefix(basePath) else {
            return .failure(PlatformRefusal("\"\(described)\" leaves the platform's base URL"))
        }
        return .success(url)
    }

    func send(_ request: PlatformRequest) async -> PlatformResponse {
        guard Self.methods.contains(request.method) else {
            return PlatformResponse(pathname: "", attempts: 0, body: [], error: "unknown method", invalid: true)
        }
        let url: URL
        switch self.url(for: request.path) {
        case .success(let resolved): url = resolved
        case .failure(let refusal): return PlatformResponse(pathname: "", attempts: 0, body: [], error: refusal.reason, invalid: true)
        }
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = request.method
        urlRequest.setValue("application/json", forHTTPHeaderField: "accept")
        if let token { urlRequest.setValue("Bearer \(token)", forHTTPHeaderField: "authorization") }
        if !request.body.isEmpty {
            urlRequest.httpBody = Data(request.body)
            urlRequest.setValue("application/json", forHTTPHeaderField: "content-type")
        }
        for attempt in 1...Self.attempts {
            let data: Data
            let response: URLResponse
            do {
                (data, response) = try await URLSession.shared.data(for: urlRequest)
            } catch {
                return PlatformResponse(pathname: url.path, attempts: attempt, body: [], error: "\(request.method) \(url.path) failed: \(error.localizedDescription)")
            }
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            guard data.count <= Self.maxResponseBytes else {
                return PlatformResponse(status: status, pathname: url.path, attempts: attempt, body: [],
                                        error: "\(request.method) \(url.path) answered more than \(Self.maxResponseBytes) bytes")
            }
            let retriable = status == 429 || status >= 500
            if !retriable || attempt == Self.attempts {
                return PlatformResponse(status: status, pathname: url.path, attempts: attempt, body: Array(data))
            }
            let retryAfter = ((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "retry-after")).flatMap(Double.init)
            let backoffMs = retryAfter.map { min(max($0, 0) * 1_000, 5_000) } ?? 100 * Double(1 << (attempt - 1))
            try? await Task.sleep(for: .milliseconds(Int64(backoffMs * Double.random(in: 0.5...1))))
        }
        return PlatformResponse(pathname: url.path, attempts: Self.attempts, body: [], error: "no answer")
    }
}

struct PlatformRefusal: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
