/// What one invocation may send back (README, "Limits"). The harness applies them so that a function
/// gets a clear error; chatfn applies them again to what arrives, since a function can write to the
/// pipe itself. They keep a worker from growing chatfn's memory and keep every produced record below
/// what a broker accepts.
package enum WorkerLimits {
    /// Commands one invocation may emit with `context.emit`.
    package static let maxEmits = 1_000
    /// One command's data, as JSON.
    package static let maxCommandBytes = 256 * 1024
    /// A command's type and key.
    public static let maxCommandTypeBytes = 256
    public static let maxCommandKeyBytes = 1_024
    /// All commands of one invocation together (data, types and keys).
    package static let maxEmitBytes = 1_024 * 1_024
    /// A function's return value, as JSON.
    package static let maxResultBytes = 1_024 * 1_024
    /// An error's message and stack, each.
    package static let maxErrorMessageBytes = 8 * 1_024
    package static let maxStackBytes = 16 * 1_024
    /// One line of console output.
    package static let maxLogLineBytes = 64 * 1_024
    /// Console output that belongs to no invocation (printed after a function returned), per process and
    /// ``unattributedWindow``: beyond it, lines are counted and dropped.
    package static let maxUnattributedLines = 100
    package static let unattributedWindow: Duration = .seconds(10)

    /// A worker → chatfn frame above this is a protocol violation (the worker is stopped), not an
    /// allocation to attempt.
    static let maxFrameBytes = 2 * 1_024 * 1_024

    /// The limits the harness applies, as its configure frame names them.
    static let forHarness: [(String, Int)] = [
        ("maxEmits", maxEmits), ("maxCommandBytes", maxCommandBytes), ("maxEmitBytes", maxEmitBytes),
        ("maxCommandTypeBytes", maxCommandTypeBytes), ("maxCommandKeyBytes", maxCommandKeyBytes),
        ("maxResultBytes", maxResultBytes), ("maxErrorMessageBytes", maxErrorMessageBytes), ("maxStackBytes", maxStackBytes),
        ("maxLogLineBytes", maxLogLineBytes),
    ]
}
