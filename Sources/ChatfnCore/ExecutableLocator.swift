import Foundation

/// Finds the external programs chatfn runs (node, npm, esbuild): an explicit path from an environment
/// variable, else the first match on PATH.
package enum ExecutableLocator {
    package static func find(_ name: String, overrideVariable: String) -> String? {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment[overrideVariable], !explicit.isEmpty { return explicit }
        for directory in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
