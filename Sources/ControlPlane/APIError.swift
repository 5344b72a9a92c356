import Foundation
import Functions
import HTTPTypes
import Hummingbird
import Registry

/// An API failure, answered as JSON `{"error": "..."}` (with `line` and `column` for a compile error).
struct APIError: Error, HTTPResponseError {
    var status: HTTPResponse.Status
    var message: String
    var line: Int?
    var column: Int?

    init(_ status: HTTPResponse.Status, _ message: String, line: Int? = nil, column: Int? = nil) {
        self.status = status
        self.message = message
        self.line = line
        self.column = column
    }

    var headers: HTTPFields { [.contentType: "application/json"] }

    func body(allocator: ByteBufferAllocator) -> ByteBuffer? {
        struct Body: Encodable {
            var error: String
            var line: Int?
            var column: Int?
        }
        return ByteBuffer(bytes: (try? JSONCoding.encode(Body(error: message, line: line, column: column))) ?? Array(#"{"error":"?"}"#.utf8))
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body(allocator: ByteBufferAllocator()) ?? ByteBuffer()))
    }

    init(_ failure: RegistryFailure) {
        switch failure {
        case .invalid(let reason): self.init(.badRequest, reason)
        case .notFound(let reason): self.init(.notFound, reason)
        case .conflict(let reason): self.init(.conflict, reason)
        case .unavailable(let reason): self.init(.serviceUnavailable, reason)
        }
    }

    init(_ problem: CompileProblem) {
        self.init(.unprocessableContent, problem.message, line: problem.line, column: problem.column)
    }
}

/// Every error a handler throws leaves as JSON: a registry failure, a compile problem, Hummingbird's
/// own (unknown route, body too large), or anything else (500, without internals).
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let failure as RegistryFailure {
            throw APIError(failure)
        } catch let problem as CompileProblem {
            throw APIError(problem)
        } catch let error as HTTPError {
            throw APIError(error.status, error.body ?? error.status.reasonPhrase)
        } catch let error as DecodingError {
            throw APIError(.badRequest, "invalid request body: \(error.readableDescription)")
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            throw APIError(.internalServerError, "internal error")
        }
    }
}

/// The API's JSON: sorted keys, slashes unescaped.
enum JSONCoding {
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encode(value))))
    }

    static func noContent() -> Response {
        Response(status: .noContent)
    }
}
