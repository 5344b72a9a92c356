import ChatfnCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Synchronization

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
/// process (replace `fetch`, its dispatcher, `http`). Only paths under the base URL are accepted, no
/// redirect is followed (it would carry the token elsewhere), responses are bounded while they arrive,
/// and 429 and 5xx are retried with backoff (honouring `Retry-After` up to 5 s).
struct PlatformClient: Sendable {
    let baseURL: URL
    let token: String?
    static let attempts = 4
    static let maxResponseBytes = 4 * 1_024 * 1_024
    static let timeout: TimeInterval = 30
    static let methods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    init?(_ access: PlatformAccess) {
        let base = access.baseUrl.hasSuffix("/") ? access.baseUrl : access.baseUrl + "/"
        guard let url = URL(string: base), url.scheme == "http" || url.scheme == "https", url.host != nil else { return nil }
        self.baseURL = url
        self.token = access.token
    }

    /// The URL `path` names under the base URL; the reason when it is not relative to it.
    func url(for path: String) -> Result<URL, PlatformRefusal> {
        let described = path.truncated(toUTF8Bytes: 200).escapingControlCharacters()
        let pathPart = String(path.prefix { $0 != "?" && $0 != "#" })
        let segments = pathPart.split(separator: "/", omittingEmptySubsequences: false)
        if path.range(of: #"^[A-Za-z][A-Za-z0-9+.-]*:"#, options: .regularExpression) != nil || path.hasPrefix("//") || path.contains("\\") {
            return .failure(PlatformRefusal("\"\(described)\" is not a path relative to the platform's base URL (absolute URLs are refused)"))
        }
        // Dot segments, also percent-encoded, and encoded separators could step out of the base path.
        let lowered = pathPart.lowercased()
        if segments.contains(where: { $0 == "." || $0 == ".." }) || ["%2e", "%2f", "%5c"].contains(where: lowered.contains) {
            return .failure(PlatformRefusal("\"\(described)\" leaves the platform's base URL (no dot segments or encoded separators)"))
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
        var urlRequest = URLRequest(url: url, timeoutInterval: Self.timeout)
        urlRequest.httpMethod = request.method
        urlRequest.setValue("application/json", forHTTPHeaderField: "accept")
        if let token { urlRequest.setValue("Bearer \(token)", forHTTPHeaderField: "authorization") }
        if !request.body.isEmpty {
            urlRequest.httpBody = Data(request.body)
            urlRequest.setValue("application/json", forHTTPHeaderField: "content-type")
        }
        for attempt in 1...Self.attempts {
            let exchange = await PlatformExchange.perform(urlRequest, limit: Self.maxResponseBytes)
            switch exchange {
            case .failed(let reason):
                return PlatformResponse(pathname: url.path, attempts: attempt, body: [], error: "\(request.method) \(url.path) failed: \(reason)")
            case .answered(let status, let retryAfter, let body):
                let retriable = status == 429 || status >= 500
                if !retriable || attempt == Self.attempts {
                    return PlatformResponse(status: status, pathname: url.path, attempts: attempt, body: body)
                }
                let backoffMs = retryAfter.map { min($0, 5) * 1_000 } ?? 100 * Double(1 << (attempt - 1))
                try? await Task.sleep(for: .milliseconds(Int64(backoffMs * Double.random(in: 0.5...1))))
            }
        }
        return PlatformResponse(pathname: url.path, attempts: Self.attempts, body: [], error: "no answer")
    }
}

struct PlatformRefusal: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// One HTTP exchange with the platform, on a session that follows no redirect and stops reading past
/// the limit.
enum PlatformExchange: Sendable {
    case answered(status: Int, retryAfterSeconds: Double?, body: [UInt8])
    case failed(String)

    private static let session = URLSession(configuration: .ephemeral, delegate: ExchangeDelegate(), delegateQueue: nil)

    static func perform(_ request: URLRequest, limit: Int) async -> PlatformExchange {
        await withCheckedContinuation { continuation in
            let task = session.dataTask(with: request)
            ExchangeDelegate.track(task, limit: limit, continuation)
            task.resume()
        }
    }

    /// `Retry-After` in seconds: a non-negative finite number; anything else is ignored.
    static func retryAfter(_ value: String?) -> Double? {
        guard let seconds = value.flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }), seconds.isFinite, seconds >= 0 else { return nil }
        return seconds
    }
}

/// Collects each exchange's body up to its limit and refuses redirects.
///
/// `@unchecked Sendable`: `exchanges` is a Mutex; the class has no other state.
private final class ExchangeDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private struct Exchange {
        var limit: Int
        var body: [UInt8] = []
        var continuation: CheckedContinuation<PlatformExchange, Never>
        var tooLarge = false
    }

    private static let exchanges = Mutex<[Int: Exchange]>([:])

    static func track(_ task: URLSessionTask, limit: Int, _ continuation: CheckedContinuation<PlatformExchange, Never>) {
        exchanges.withLock { $0[task.taskIdentifier] = Exchange(limit: limit, continuation: continuation) }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)  // the 3xx is the answer: a redirect would carry the token elsewhere
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let overflow = Self.exchanges.withLock { exchanges -> Bool in
            guard var exchange = exchanges[dataTask.taskIdentifier] else { return false }
            if exchange.body.count + data.count > exchange.limit {
                exchange.tooLarge = true
                exchanges[dataTask.taskIdentifier] = exchange
                return true
            }
            exchange.body.append(contentsOf: data)
            exchanges[dataTask.taskIdentifier] = exchange
            return false
        }
        if overflow { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let exchange = Self.exchanges.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
        if exchange.tooLarge {
            exchange.continuation.resume(returning: .failed("the answer is larger than \(exchange.limit) bytes"))
        } else if let error {
            exchange.continuation.resume(returning: .failed(error.localizedDescription))
        } else {
            let response = task.response as? HTTPURLResponse
            exchange.continuation.resume(returning: .answered(
                status: response?.statusCode ?? 0, retryAfterSeconds: PlatformExchange.retryAfter(response?.value(forHTTPHeaderField: "retry-after")),
                body: exchange.body))
        }
    }
}
