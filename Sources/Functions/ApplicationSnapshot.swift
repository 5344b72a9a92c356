import ChatfnCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A private copy of an application's directory that its workers read instead of the directory itself:
/// what was checked at deploy time is what runs, whatever happens to the directory afterwards (a link
/// leading out that appears later, a file replaced mid-read). Taken once per content (a fingerprint of
/// each file's path, size, inode and change times), in chatfn's cache. Links are followed while copying
/// (a Kubernetes ConfigMap mount is made of them) but only to targets inside the application; the copy
/// holds files and directories only. `.git` is left out.
struct ApplicationSnapshot: Sendable {
    /// Snapshots of one application kept besides the deployed one: workers and retries still running
    /// an older version read it.
    static let keptBesidesCurrent = 4
    static let maxBytes = 256 * 1_024 * 1_024
    static let maxFiles = 20_000

    let base: URL

    /// The snapshot of `root`, taken now unless one of the same content exists.
    func take(of root: String) throws -> String {
        guard let resolvedRoot = LinkEscapes.resolved(root) else { throw CatalogError("\(root) cannot be resolved") }
        let entries = try Self.entries(of: resolvedRoot)
        let fingerprint = ContentHash.hex(of: Array(entries.map(\.identity).joined(separator: "\n").utf8))
        let target = base.appendingPathComponent(fingerprint)
        let marker = target.appendingPathComponent(".chatfn-snapshot")
        if FileManager.default.fileExists(atPath: marker.path) {
            try? FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: target.path)  // in use again: pruned last
            return target.path
        }
        let staging = base.appendingPathComponent("\(fingerprint).staging-\(UUID().uuidString.lowercased())")
        defer { try? FileManager.default.removeItem(at: staging) }
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
            for entry in entries {
                let destination = staging.appendingPathComponent(entry.path)
                if let source = entry.source {
                    try Self.copyRegularFile(from: source, to: destination.path)
                } else {
                    try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
                }
            }
            try Data().write(to: staging.appendingPathComponent(".chatfn-snapshot"))
            try? FileManager.default.removeItem(at: target)  // an unfinished copy left by a process that died
            try FileManager.default.moveItem(at: staging, to: target)
        } catch let error as CatalogError {
            throw error
        } catch where FileManager.default.fileExists(atPath: marker.path) {
            // Another chatfn took the same snapshot meanwhile.
        } catch {
            throw CatalogError("could not copy the application for its workers: \(error.localizedDescription)")
        }
        return target.path
    }

    /// Removes the application's snapshots but `current` and the newest ``keptBesidesCurrent`` others;
    /// called once `current` is deployed.
    func prune(keeping current: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(at: base, includingPropertiesForKeys: [.contentModificationDateKey]) else { return }
        func modified(_ url: URL) -> Date { (try? url.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast }
        let others = names.filter { $0.path != current && !$0.lastPathComponent.contains(".staging-") }.sorted { modified($0) > modified($1) }
        for stale in others.dropFirst(Self.keptBesidesCurrent) { try? FileManager.default.removeItem(at: stale) }
    }

    private struct Entry {
        /// Relative to the application.
        var path: String
        /// The resolved file to copy; nil for a directory.
        var source: String?
        /// What the fingerprint takes of it.
        var identity: String
    }

    /// Every directory and file under `root` (resolved), relative, following links whose targets lie
    /// inside it; in order.
    private static func entries(of root: String) throws -> [Entry] {
        var entries: [Entry] = []
        var bytes = 0
        /// `ancestors`: the resolved directories being walked, to tell a cycle from a second link to a
        /// directory (copied again: the file and size bounds hold either way).
        func walk(_ directory: String, as relative: String, ancestors: Set<String>) throws {
            let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            for name in names where !(relative.isEmpty && name == ".git") {
                let path = directory + "/" + name
                let relativePath = relative.isEmpty ? name : relative + "/" + name
                guard let resolved = LinkEscapes.resolved(path), resolved == root || resolved.hasPrefix(root + "/") else {
                    let destination = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
                    throw CatalogError("the application has a link that leads outside it, which functions could read through: "
                        + "\(relativePath) -> \(destination) (remove it, or copy what it points at into the application)")
                }
                var info = stat()
                guard stat(resolved, &info) == 0 else { throw CatalogError("\(relativePath) cannot be read") }
                switch info.st_mode & S_IFMT {
                case S_IFDIR:
                    guard !ancestors.contains(resolved) else { throw CatalogError("\(relativePath) links to a directory that contains it: a cycle") }
                    entries.append(Entry(path: relativePath, source: nil, identity: "d \(relativePath)"))
                    try walk(resolved, as: relativePath, ancestors: ancestors.union([resolved]))
                case S_IFREG:
                    bytes += Int(info.st_size)
                    guard entries.count < maxFiles, bytes <= maxBytes else {
                        throw CatalogError("the application is larger than \(maxFiles) files or \(maxBytes / 1_048_576) MiB")
                    }
                    let identity = "f \(relativePath) \(info.st_size) \(info.st_ino) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)"
                    entries.append(Entry(path: relativePath, source: resolved, identity: identity))
                default:
                    continue  // sockets, FIFOs, devices: not part of an application
                }
            }
        }
        try walk(root, as: "", ancestors: [root])
        return entries
    }

    /// Copies `source`, refusing anything but a regular file at the moment it is opened (a link or a
    /// FIFO swapped in since the walk).
    private static func copyRegularFile(from source: String, to destination: String) throws {
        let descriptor = open(source, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw CatalogError("\(source) changed while it was being deployed: try again") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw CatalogError("\(source) is no longer a regular file: try again")
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: false)
        let content = try handle.readToEnd() ?? Data()
        guard FileManager.default.createFile(atPath: destination, contents: content) else {
            throw CatalogError("could not write \(destination)")
        }
    }
}
