import ChatEvents
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Symbolic links that lead out of a directory. Node's permission model follows links, so a link inside
/// an application (`functions/proc -> /proc`, or a `file:/` dependency that npm links) would let its
/// functions read what lies outside; chatfn refuses to deploy such a tree.
enum LinkEscapes {
    /// Each link under `directory` whose target lies outside it (or does not exist, so cannot be
    /// checked), as `relative/path -> target`; empty when there is none.
    static func find(in directory: String) -> [String] {
        guard let root = resolved(directory) else { return ["\(directory) cannot be resolved"] }
        let base = URL(fileURLWithPath: directory)
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isSymbolicLinkKey]) else { return [] }
        var escapes: [String] = []
        for case let url as URL in walker {
            guard (try? url.resourceValues(forKeys: [.isSymbolicLinkKey]))?.isSymbolicLink == true else { continue }
            let target = resolved(url.path)
            if let target, target == root || target.hasPrefix(root + "/") { continue }
            let relative = String(url.path.dropFirst(base.path.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            escapes.append("\(relative) -> \(target ?? (try? FileManager.default.destinationOfSymbolicLink(atPath: url.path)) ?? "?")")
        }
        return escapes
    }

    /// The path with every link resolved; nil when it does not exist.
    static func resolved(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
