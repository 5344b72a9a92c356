import ControlPlane
import Foundation
import Testing

/// `openapi.json` (served at `GET /v1/openapi.json`) against the route table it describes.
@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    static let methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    /// The document, as a JSON object.
    func document() throws -> [String: Any] {
        let data = try ControlAPI.openAPIDocumentData()
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Every operation, by its `METHOD /path` signature.
    func operations() throws -> [String: [String: Any]] {
        let paths = try #require(try document()["paths"] as? [String: Any])
        var operations: [String: [String: Any]] = [:]
        for (path, item) in paths {
            let item = try #require(item as? [String: Any], "path item \(path)")
            for method in Self.methods {
                guard let operation = item[method] else { continue }
                operations["\(method.uppercased()) \(path)"] = try #require(operation as? [String: Any], "\(method) \(path)")
            }
        }
        return operations
    }

    @Test("is OpenAPI 3.0.3 with a bearer security scheme required globally")
    func header() throws {
        let document = try document()
        #expect(document["openapi"] as? String == "3.0.3")
        let schemes = (document["components"] as? [String: Any])?["securitySchemes"] as? [String: Any]
        let bearer = schemes?["bearerAuth"] as? [String: Any]
        #expect(bearer?["type"] as? String == "http")
        #expect(bearer?["scheme"] as? String == "bearer")
        let security = document["security"] as? [[String: Any]]
        #expect(security?.count == 1 && security?.first?["bearerAuth"] != nil)
    }

    @Test("describes exactly the routes of ControlAPI.routes")
    func operationsMatchRoutes() throws {
        let documented = Set(try operations().keys)
        let routed = Set(ControlAPI.routeSignatures)
        #expect(ControlAPI.routeSignatures.count == routed.count, "a route is listed twice")
        let undocumented = routed.subtracting(documented).sorted()
        let unrouted = documented.subtracting(routed).sorted()
        #expect(undocumented.isEmpty, "routes missing from openapi.json: \(undocumented.joined(separator: ", "))")
        #expect(unrouted.isEmpty, "operations in openapi.json that are not routes: \(unrouted.joined(separator: ", "))")
    }

    @Test("declares 401 on every operation but the document itself, and 403 on every change")
    func authenticationResponses() throws {
        for (signature, operation) in try operations().sorted(by: { $0.key < $1.key }) {
            let responses = try #require(operation["responses"] as? [String: Any], "\(signature) has no responses")
            if signature == "GET /v1/openapi.json" {
                let security = operation["security"] as? [Any]
                #expect(security?.isEmpty == true, "\(signature) must declare security: []")
                #expect(responses["401"] == nil, "\(signature) needs no token")
                continue
            }
            #expect(responses["401"] != nil, "\(signature) does not declare 401")
            if !signature.hasPrefix("GET ") {
                #expect(responses["403"] != nil, "\(signature) does not declare 403")
            }
        }
    }

    @Test("every $ref resolves inside the document")
    func referencesResolve() throws {
        let document = try document()
        var references: [String] = []
        func collect(_ value: Any) {
            if let object = value as? [String: Any] {
                if let reference = object["$ref"] as? String { references.append(reference) }
                object.values.forEach(collect)
            } else if let array = value as? [Any] {
                array.forEach(collect)
            }
        }
        collect(document)
        #expect(!references.isEmpty)
        for reference in Set(references).sorted() {
            #expect(Self.resolve(reference, in: document) != nil, "\(reference) does not resolve")
        }
    }

    /// The value a local reference (`#/a/b`, JSON Pointer) names; nil when there is none.
    static func resolve(_ reference: String, in document: [String: Any]) -> Any? {
        guard reference.hasPrefix("#/") else { return nil }
        var current: Any = document
        for token in reference.dropFirst(2).split(separator: "/", omittingEmptySubsequences: false) {
            let key = token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let object = current as? [String: Any], let next = object[key] else { return nil }
            current = next
        }
        return current
    }
}
