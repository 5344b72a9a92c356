import Foundation

extension Duration {
    /// Whole milliseconds (truncated), clamped to `Int64`'s range.
    package var wholeMilliseconds: Int64 {
        components.seconds.multipliedSaturated(by: 1_000).addingSaturated(components.attoseconds / 1_000_000_000_000_000)
    }

    /// Whole nanoseconds (truncated), clamped to `Int64`'s range (about 292 years).
    package var wholeNanoseconds: Int64 {
        components.seconds.multipliedSaturated(by: 1_000_000_000).addingSaturated(components.attoseconds / 1_000_000_000)
    }

    /// Milliseconds with fractions, for reports.
    package var fractionalMilliseconds: Double {
        Double(components.seconds) * 1_000 + Double(components.attoseconds) / 1e15
    }

    /// Seconds with fractions, for Foundation's time intervals.
    package var fractionalSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// Wall-clock time as Kafka and CloudEvents carry it: milliseconds since the Unix epoch.
package enum EpochMilliseconds {
    package static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000) }
}
