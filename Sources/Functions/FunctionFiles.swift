import ChatEvents
import Foundation

/// Which files of a functions folder are functions. A function is a file directly in the folder,
/// named after its trigger (`user.sent.message.ts`); helpers are everything else: files in subfolders
/// (`functions/lib/util.ts`) and files whose names start with `_` (`functions/_shared.js`). Helpers are
/// bundled into the functions that import them.
package enum FunctionFiles {
    /// The extensions of function files.
    package static let extensions = typescriptExtensions.union(["js", "cjs", "mjs"])
    /// Those of TypeScript.
    package static let typescriptExtensions: Set<String> = ["ts", "mts", "cts"]

    /// The functions of `folder`, sorted by file name: regular files only (a FIFO named x.js would block
    /// the read), helpers left out.
    package static func entries(in folder: URL) throws -> [(trigger: String, file: URL)] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().compactMap { entry in
            let url = folder.appendingPathComponent(entry)
            // Only the folder's own files are listed: the name alone says whether one is a helper.
            guard extensions.contains(url.pathExtension), !isHelperName(entry),
                  (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { return nil }
            return (url.deletingPathExtension().lastPathComponent, url)
        }
    }

    /// Whether a script is a helper rather than a function: named `_…`, or in a subfolder of `functions/`.
    package static func isHelper(_ file: URL) -> Bool {
        if isHelperName(file.lastPathComponent) { return true }
        let components = file.pathComponents
        guard let functions = components.lastIndex(of: "functions") else { return false }
        return functions < components.count - 2
    }

    private static func isHelperName(_ name: String) -> Bool { name.hasPrefix("_") }

    /// Whether `source` imports a local file (`./lib/util`, `../shared`): such a function is bundled with
    /// what it imports, and is deployed again when one of those files changes.
    package static func importsLocalFiles(_ source: String) -> Bool {
        source.range(of: #"(require\s*\(\s*|from\s+|import\s*\(\s*|import\s+)["']\.\.?/"#, options: .regularExpression) != nil
    }

    /// A warning for a function file whose name is likely a mistake: close to a known trigger without being
    /// it (`user.recieved.notification`), or not an event type at all (no dot).
    package static func nameWarning(_ trigger: String) -> String? {
        if TriggerCatalog.trigger(trigger) != nil { return nil }
        let nearest = TriggerCatalog.all.map { ($0.type, editDistance($0.type, trigger)) }.min { $0.1 < $1.1 }
        if let (type, distance) = nearest, distance <= 3 {
            return "\(trigger) is not a trigger chatfn knows: did you mean \(type)? (a custom event type works too, if that is what you meant)"
        }
        guard trigger.contains(".") else {
            return "\(trigger) is not an event type (types are dotted, e.g. user.sent.message): nothing will run it. "
                + "Helpers go in a subfolder (functions/lib/) or in a file whose name starts with _"
        }
        return nil
    }

    /// Levenshtein distance, for suggestions.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let (a, b) = (Array(a.utf8), Array(b.utf8))
        guard !a.isEmpty else { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
