/// W3C Trace Context's `traceparent` (`00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`), as the
/// CloudEvents distributed-tracing extension carries it in Kafka (`ce_traceparent`).
package enum TraceParent {
    package static let header = "ce_traceparent"

    /// `text` when it is a traceparent chatfn can continue: version 00 (or a later one, whose first four
    /// fields it reads), ids not all zeros; nil otherwise (an invocation then starts a new trace).
    package static func validated(_ text: String) -> String? {
        let fields = text.split(separator: "-", omittingEmptySubsequences: false)
        guard fields.count >= 4, fields[0].count == 2, fields[0] != "ff", fields[1].count == 32, fields[2].count == 16, fields[3].count == 2,
              fields[0] != "00" || fields.count == 4,
              fields.prefix(4).allSatisfy({ $0.allSatisfy(\.isLowercaseHexDigit) }),
              fields[1].contains(where: { $0 != "0" }), fields[2].contains(where: { $0 != "0" }) else { return nil }
        return fields.prefix(4).joined(separator: "-")
    }
}

extension Character {
    fileprivate var isLowercaseHexDigit: Bool { ("0"..."9").contains(self) || ("a"..."f").contains(self) }
}
