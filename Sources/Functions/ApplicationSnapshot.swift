import ChatfnCore
import Foundation

/// A private copy of an application's directory that its workers read instead of the directory itself:
/// what was checked at deploy time is what runs, whatever happens to the directory afterwards (a link
/// leading out that appears later, a file replaced mid-read). Taken once per content (a fingerprint of
/// paths, sizes and modification times), in chatfn's cache; links to files are copied as the files
/// they lead to (inside the application, as ``LinkEscapes`` checked), links to directories are refused.
struct ApplicationSnapshot {
    /// Snapshots of one application kept at once: workers still running an older version read it.
    static let kept = 3

    let base: URL

    /// The snapshot of `root`, taken now unless one of the same content exists.
    func take(of root: String) throws -> String {
        let entries = try Self.entries(of: root)
        let fingerprint = ContentHash.hex(of: Array(entries.map { "\($0.path)\u{0}\($0.size)\u{0}\($0.modified)" }.joined(separator: "\n").utf8))
        let target = base.appendingPathComponent(fingerprint)
        let marker = target.appendingPathComponent(".chatfn-snapshot")
        if FileManager.default.fileExists(atPath: marker.path) { return target.path }
        let staging = base.appendingPathComponent("\(fingerprint).staging-\(UUID().uuidString.lowercased())")
        defer { try? FileManager.default.removeItem(at: staging) }
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
            for entry in entries {
                let destination = staging.appendingPathComponent(entry.path)
                if entry.isDirectory {
                    try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
                } else {
                    // Follows a link to a file: the snapshot holds the content, never the link.
                    try FileManager.default.copyItem(atPath: URL(fileURLWithPath: root).appendingPathComponent(entry.path).resolvingSymlinksInPath().path,
                                                     toPath: destination.path)
                }
            }
            try Data().write(to: staging.appendingPathComponent(".chatfn-snapshot"))
            try FileManager.default.moveItem(at: staging, to: target)
        } catch where FileManager.default.fileExists(atPath: marker.path) {
            // Another chatfn took the same snapshot meanwhile.
        } catch {
            throw CatalogError("could not copy the application for its workers: \(error.localizedDescription)")
        }
        prune(keeping: target.lastPathComponent)
        return target.path
    }

    private struct Entry {
        var path: String
        var isDirectory: Bool
        var size: Int
        var modified: Double
    }

    /// Every directory and file under `root`, relative, in order; a link to a directory is refused.
    private static func entries(of root: String) throws -> [Entry] {
        let base = URL(fileURLWithPath: root)
        let keys: [URLResourceKey] = [.isDirectoryKey, .isSymbolicLinkKey, .isRegularFileKey, .fileSizeKey, .contentModificationDateKey]
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: keys) else { return [] }
        var entries: [Entry] = []
        for case let url as URL in walker {
            let relative = String(url.path.dropFirst(base.path.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            let values = try url.resourceValues(forKeys: Set(keys))
            if values.isSymbolicLink == true {
                let target = url.resolvingSymlinksInPath()
                let targetValues = try target.resourceValues(forKeys: [.isDirectoryKey, .isRegularFileKey, .fileSizeKey, .contentModificationDateKey])
                guard targetValues.isRegularFile == true else {
                    throw CatalogError("\(relative) links to a directory: copy it into the application instead")
                }
                entries.append(Entry(path: relative, isDirectory: false, size: targetValues.fileSize ?? 0,
                                     modified: targetValues.contentModificationDate?.timeIntervalSince1970 ?? 0))
            } else if values.isDirectory == true {
                entries.append(Entry(path: relative, isDirectory: true, size: 0, modified: 0))
            } else if values.isRegularFile == true {
                entries.append(Entry(path: relative, isDirectory: false, size: values.fileSize ?? 0,
                                     modified: values.contentModificationDate?.timeIntervalSince1970 ?? 0))
            }  // sockets, FIFOs, devices: not part of an application
        }
        return entries.sorted { $0.path < $1.path }
    }

    /// Removes all but the newest ``kept`` snapshots (and `current`).
    private func prune(keeping current: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(at: base, includingPropertiesForKeys: [.contentModificationDateKey]) else { return }
        let snapshots = names.filter { !$0.lastPathComponent.contains(".staging-") }
            .sorted { (try? $0.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate ?? .distantPast) ?? .distantPast
                > (try? $1.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate ?? .distantPast) ?? .distantPast }
        for stale in snapshots.dropFirst(Self.kept) where stale.lastPathComponent != current {
            try? FileManager.default.removeItem(at: stale)
        }
    }
}
