import Crypto
import Foundation
import Hummingbird

/// The dashboard: static pages (`Assets/`) that talk to the API of the same origin with the bearer token
/// the user signed in with. They hold no data and need no token themselves; every response carries
/// ``securityHeaders``.
package struct Dashboard: Sendable {
    struct Asset: Sendable {
        var body: ByteBuffer
        var contentType: String
        /// A digest of the body: a browser revalidating a page it has gets 304.
        var etag: String
    }

    /// By path below the site's root: `index.html`, `dashboard/…`, `vendor/codemirror/…`.
    private let assets: [String: Asset]

    /// The files of Debian's libjs-codemirror the pages load (JavaScript highlighting, TypeScript included).
    static let codeMirrorFiles = ["lib/codemirror.js", "lib/codemirror.css", "mode/javascript/javascript.js", "addon/edit/matchbrackets.js"]

    /// Reads the pages once. - Parameter codeMirrorDirectory: libjs-codemirror's folder; where it is
    /// missing the pages edit code in a plain text area.
    package init(codeMirrorDirectory: String) throws {
        guard let root = Bundle.module.resourceURL?.appendingPathComponent("Assets") else {
            throw DashboardError("the dashboard's pages are missing from chatfn's resources")
        }
        var assets: [String: Asset] = [:]
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = files?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            let path = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
            assets[path == "index.html" ? path : "dashboard/\(path)"] = try Self.asset(at: url)
        }
        guard assets["index.html"] != nil else { throw DashboardError("the dashboard's index.html is missing from chatfn's resources") }
        for file in Self.codeMirrorFiles {
            let url = URL(fileURLWithPath: codeMirrorDirectory).appendingPathComponent(file)
            if FileManager.default.isReadableFile(atPath: url.path) { assets["vendor/codemirror/\(file)"] = try Self.asset(at: url) }
        }
        self.assets = assets
    }

    /// Whether the code editor's files were found (otherwise the pages use a text area).
    package var hasCodeEditor: Bool { assets["vendor/codemirror/lib/codemirror.js"] != nil }

    /// `/`, `/dashboard/**` and `/vendor/codemirror/**`.
    package func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/") { request, _ in self.response(for: "index.html", request) }
        for prefix in ["dashboard", "vendor/codemirror"] {
            router.get("/\(prefix)/**") { request, context in
                self.response(for: "\(prefix)/" + context.parameters.getCatchAll().joined(separator: "/"), request)
            }
        }
    }

    private func response(for path: String, _ request: Request) -> Response {
        guard let asset = assets[path] else {
            return Response(status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: "not found\n")))
        }
        // Revalidated on every load (ETag): a new chatfn's pages are never mixed with an old one's.
        let headers: HTTPFields = [.contentType: asset.contentType, .cacheControl: "no-cache", .eTag: asset.etag]
        if request.headers[.ifNoneMatch] == asset.etag { return Response(status: .notModified, headers: headers) }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: asset.body))
    }

    private static func asset(at url: URL) throws -> Asset {
        let data = try Data(contentsOf: url)
        let types = ["html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
                     "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon"]
        return Asset(body: ByteBuffer(bytes: data), contentType: types[url.pathExtension] ?? "application/octet-stream",
                     etag: "\"" + SHA256.hash(data: data).prefix(12).map { String(format: "%02x", $0) }.joined() + "\"")
    }
}

/// The dashboard's pages cannot be served.
package struct DashboardError: Error, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}
