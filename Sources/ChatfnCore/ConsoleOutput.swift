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
        guard LogFormat.current == .text else {
            // For log shippers: each line an object of its own, on standard output still.
            var block: [UInt8] = []
            for line in lines {
                var writer = JSONWriter(capacity: 96 + line.utf8.count)
                writer.field("time", JSONLogHandler.timestamp())
                writer.field("level", "info")
                writer.field("message", line)
                block += writer.finish() + [UInt8(ascii: "\n")]
            }
            handle.withLock { $0.write(Data(block)) }
            return
        }
        let data = Data((lines.joined(separator: "\n") + "\n").utf8)
        handle.withLock { $0.write(data) }
    }
}
