import Foundation
import Logging
import Synchronization

/// The functions of one application, read from a functions directory laid out as
/// `DIR/functions/<trigger>.js` (or the `.js` files of `DIR` itself when it has no `functions/` folder),
/// with their settings from `DIR/chatfn.json`.
///
/// ``reload()`` rescans both; saving a file deploys its new version on the next reload.
public final class FunctionCatalog: Sendable {
    /// The application directory (where `chatfn.json` is).
    public let root: String
    /// Where the function files are.
    public let directory: String
    private let logger: Logger
    private let functions = Mutex<[String: FunctionDefinition]>([:])
    private let currentManifest = Mutex(ApplicationManifest())

    static let fileExtensions = ["js", "cjs"]

    public init(directory: String, logger: Logger) throws {
        let root = URL(fileURLWithPath: directory).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CatalogError("functions directory \(directory) does not exist")
        }
        let nested = root.appendingPathComponent("functions")
        var nestedIsDirectory: ObjCBool = false
        let hasNested = FileManager.default.fileExists(atPath: nested.path, isDirectory: &nestedIsDirectory) && nestedIsDirectory.boolValue
        self.root = root.path
        self.directory = hasNested ? nested.path : root.path
        self.logger = logger
        currentManifest.withLock { $0 = ApplicationManifest() }
        try reload()
    }

    /// The application's `chatfn.json` as last read.
    public var manifest: ApplicationManifest { currentManifest.withLock { $0 } }

    /// The function deployed for `trigger`, if any.
    public func function(for trigger: String) -> FunctionDefinition? {
        functions.withLock { $0[trigger] }
    }

    public var all: [FunctionDefinition] {
        functions.withLock { Array($0.values) }.sorted { $0.trigger < $1.trigger }
    }

    /// Rescans the directory and `chatfn.json`, and logs what was deployed, changed or removed.
    public func reload() throws {
        let manifest = try ApplicationManifest.load(fromDirectory: root)
        currentManifest.withLock { $0 = manifest }
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw CatalogError("cannot read functions directory \(directory): \(error.localizedDescription)")
        }
        var found: [String: FunctionDefinition] = [:]
        for entry in entries.sorted() {
            let url = URL(fileURLWithPath: directory).appendingPathComponent(entry)
            guard Self.fileExtensions.contains(url.pathExtension), let content = FileManager.default.contents(atPath: url.path) else { continue }
            let trigger = url.deletingPathExtension().lastPathComponent
            found[trigger] = FunctionDefinition(
                trigger: trigger, file: url.path, version: ContentHash.hex(of: content), settings: manifest.settings(for: trigger))
        }
        let previous = functions.withLock { current in
            defer { current = found }
            return current
        }
        for function in found.values.sorted(by: { $0.trigger < $1.trigger }) where previous[function.trigger] != function {
            logger.info("deployed \(function.trigger)", metadata: ["version": "\(function.version)", "file": "\(function.file)"])
        }
        for trigger in previous.keys.sorted() where found[trigger] == nil {
            logger.info("removed \(trigger)")
        }
    }
}

/// A functions directory that cannot be used.
public struct CatalogError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
