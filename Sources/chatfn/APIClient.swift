import ControlPlane
import ChatfnCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Functions

/// A small JSON client of the control plane's API (`chatfn control`, or the one `chatfn dev` serves):
/// sends `CHATFN_API_TOKEN` as a bearer token, follows no redirect (it would carry the token elsewhere),
/// and turns every failure into an ``APIFailure`` that says what to do.
struct APIClient: Sendable {
    /// The API's root, e.g. `http://127.0.0.1:8080` (no trailing slash).
    let baseURL: URL
    let token: String?

    /// An ordinary request's limit; installing dependencies (npm, on the control plane) takes longer.
    static let defaultTimeout: TimeInterval = 60

    init(baseURL: URL, token: String?) {
        self.baseURL = baseURL
        self.token = token
    }

    /// `text` as an API root: `HOST:PORT` is taken as `http://HOST:PORT`.
    init(url text: String, token: String?) throws {
        var text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if !text.contains("://") { text = "http://" + text }
        while text.hasSuffix("/") { text.removeLast() }
        guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw CommandFailure("invalid control plane URL \(text): expected http(s)://HOST[:PORT]")
        }
        self.init(baseURL: url, token: token)
    }

    /// One path segment (an application, a trigger, a secret name), percent-encoded.
    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")) ?? text
    }

    /// `/v1/applications/{app}` followed by `rest` (already encoded).
    static func applicationPath(_ app: String, _ rest: String = "") -> String {
        "/v1/applications/\(segment(app))\(rest)"
    }

    /// `/v1/applications/{app}/functions/{trigger}` followed by `rest`.
    static func functionPath(_ app: String, _ trigger: String, _ rest: String = "") -> String {
        applicationPath(app, "/functions/\(segment(trigger))\(rest)")
    }

    // MARK: requests

    func get<Answer: Decodable>(_ path: String, as type: Answer.Type = Answer.self) async throws -> Answer {
        try decode(Answer.self, from: try await send("GET", path), path: path)
    }

    @discardableResult
    func put<Answer: Decodable>(_ path: String, _ body: some Encodable, as type: Answer.Type = Answer.self,
                                timeout: TimeInterval = APIClient.defaultTimeout) async throws -> Answer {
        try decode(Answer.self, from: try await send("PUT", path, body: try Self.encode(body), timeout: timeout), path: path)
    }

    @discardableResult
    func post<Answer: Decodable>(_ path: String, _ body: some Encodable, as type: Answer.Type = Answer.self) async throws -> Answer {
        try decode(Answer.self, from: try await send("POST", path, body: try Self.encode(body)), path: path)
    }

    /// A request whose answer has no body worth reading (204).
    func send(_ method: String, _ path: String, _ body: some Encodable) async throws {
        _ = try await send(method, path, body: try Self.encode(body))
    }

    func delete(_ path: String) async throws {
        _ = try await send("DELETE", path)
    }

    /// Sends one request; answers the body of a 2xx, throws ``APIFailure`` for anything else.
    func send(_ method: String, _ path: String, body: Data? = nil, timeout: TimeInterval = APIClient.defaultTimeout) async throws -> Data {
        guard let url = URL(string: baseURL.absoluteString + path) else {
            throw APIFailure(status: nil, message: "invalid request path \(path)")
        }
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        request.setValue("application/json", forHTTPHeaderField: "accept")
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "authorization") }
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "content-type")
        }
        let (data, status): (Data, Int)
        do {
            (data, status) = try await APIExchange.perform(request)
        } catch let error as URLError {
            throw unreachable(error)
        }
        guard (200..<300).contains(status) else { throw failure(status: status, body: data, method: method, path: path) }
        return data
    }

    // MARK: failures

    /// The hint for a control plane that cannot be reached.
    static let reachHint = "start `chatfn dev` (it serves the API), or pass --api URL / set CHATFN_API_URL to a running `chatfn control`"

    private func unreachable(_ error: URLError) -> APIFailure {
        let reason: String
        switch error.code {
        case .cannotConnectToHost: reason = "connection refused"
        case .timedOut: reason = "no answer in time"
        case .cannotFindHost, .dnsLookupFailed: reason = "unknown host"
        default: reason = error.localizedDescription
        }
        return APIFailure(status: nil, message: "cannot reach the control plane at \(baseURL.absoluteString): \(reason); \(Self.reachHint)")
    }

    private func failure(status: Int, body: Data, method: String, path: String) -> APIFailure {
        struct ErrorBody: Decodable {
            var error: String
            var line: Int?
            var column: Int?
        }
        let parsed = try? JSONDecoder().decode(ErrorBody.self, from: body)
        var message = parsed?.error ?? describe(status: status, body: body, method: method, path: path)
        switch status {
        case 401:
            message += ChatfnEnvironment.apiToken == nil
                ? " (the control plane at \(baseURL.absoluteString) needs a token: set CHATFN_API_TOKEN)"
                : " (check CHATFN_API_TOKEN: the control plane at \(baseURL.absoluteString) does not accept it)"
        case 403:
            message += " (CHATFN_API_TOKEN is a read-only token: changes need the full-access one)"
        default:
            break
        }
        return APIFailure(status: status, message: message, line: parsed?.line, column: parsed?.column)
    }

    /// An answer that is not the API's JSON error (a proxy's page, something else on that port).
    private func describe(status: Int, body: Data, method: String, path: String) -> String {
        "\(method) \(path) answered \(status) \(HTTPURLResponse.localizedString(forStatusCode: status)) without the API's JSON error: is \(baseURL.absoluteString) a chatfn control plane?"
    }

    // MARK: JSON

    private static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    private func decode<Answer: Decodable>(_ type: Answer.Type, from data: Data, path: String) throws -> Answer {
        if Answer.self == NoContent.self, let none = NoContent() as? Answer { return none }
        do {
            return try JSONDecoder().decode(Answer.self, from: data)
        } catch let error as DecodingError {
            throw APIFailure(status: nil, message: "unexpected answer to \(path) from \(baseURL.absoluteString): \(error.readableDescription)")
        }
    }
}

/// An answer whose body is not read.
struct NoContent: Decodable {}

/// A request the control plane refused (`status`, its `error` text, and where a script does not
/// compile), or one that never reached it (`status` nil).
struct APIFailure: Error, CustomStringConvertible, Sendable {
    var status: Int?
    var message: String
    var line: Int?
    var column: Int?

    init(status: Int?, message: String, line: Int? = nil, column: Int? = nil) {
        self.status = status
        self.message = message
        self.line = line
        self.column = column
    }

    var description: String {
        guard let line else { return message }
        return "line \(line), column \(column ?? 1): \(message)"
    }
}

/// One HTTP exchange, on a session that follows no redirect.
private enum APIExchange {
    private static let session = URLSession(configuration: .ephemeral, delegate: RefuseRedirects(), delegateQueue: nil)

    static func perform(_ request: URLRequest) async throws -> (Data, Int) {
        let box = TaskBox()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(Data, Int), any Error>) in
                let task = session.dataTask(with: request) { data, response, error in
                    if let error {
                        continuation.resume(throwing: (error as? URLError) ?? URLError(.unknown, userInfo: [NSLocalizedDescriptionKey: "\(error)"]))
                    } else {
                        continuation.resume(returning: (data ?? Data(), (response as? HTTPURLResponse)?.statusCode ?? 0))
                    }
                }
                box.set(task)
                task.resume()
            }
        } onCancel: {
            box.cancel()
        }
    }

    /// The task, for a cancellation that may come before or after it exists.
    ///
    /// `@unchecked Sendable`: its state is behind `lock`.
    private final class TaskBox: @unchecked Sendable {
        private let lock = NSLock()
        private var task: URLSessionTask?
        private var cancelled = false

        func set(_ task: URLSessionTask) {
            let cancel = lock.withLock { () -> Bool in
                self.task = task
                return cancelled
            }
            if cancel { task.cancel() }
        }

        func cancel() {
            let task = lock.withLock { () -> URLSessionTask? in
                cancelled = true
                return self.task
            }
            task?.cancel()
        }
    }
}

/// A 3xx is the answer: following it would send the token to wherever it points.
///
/// `@unchecked Sendable`: no state.
private final class RefuseRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

extension APIModels {
    /// An epoch-milliseconds time as ISO 8601 (UTC), to the second or to the millisecond.
    static func time(_ milliseconds: Int64, fractional: Bool = false) -> String {
        let date = Date(timeIntervalSince1970: Double(milliseconds) / 1_000)
        return date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: fractional))
    }
}
