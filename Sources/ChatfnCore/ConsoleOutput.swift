import Foundation
import Synchronization

/// chatfn's human-facing standard output: unbuffered, and each call's lines written as one block so that
/// concurrent writers never interleave.
package enum ConsoleOutput {
    private static let handle = Mutex(FileHandle.standardOutput)

    package static func write(_ lines: String...) {
        write(lines: lines)
    }

    package static func write(lines: [String]) {
        let data = Data((lines.joined(separator: "\n") + "\n").utf8)
        handle.withLock { $0.write(data) }
    }
}
