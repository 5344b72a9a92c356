/// The logs of one invocation, bounded: past the limits further lines are counted, not kept, and a
/// marker line says how many were dropped.
struct InvocationLogBuffer {
    static let maxLines = 1_000
    static let maxBytes = 256 * 1024

    private(set) var lines: [InvocationLogLine] = []
    private var bytes = 0
    private var dropped = 0

    mutating func append(_ line: InvocationLogLine) {
        guard dropped == 0, lines.count < Self.maxLines, bytes + line.message.utf8.count <= Self.maxBytes else {
            dropped += 1
            return
        }
        bytes += line.message.utf8.count
        lines.append(line)
    }

    var finished: [InvocationLogLine] {
        guard dropped > 0 else { return lines }
        return lines + [InvocationLogLine(level: "warn", message: "[chatfn: \(dropped) more log line(s) dropped: limit \(Self.maxLines) lines / \(Self.maxBytes / 1024) KiB]")]
    }
}
