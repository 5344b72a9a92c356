/// Sorted samples and their percentiles.
struct Percentiles {
    private let sorted: [Double]

    init(_ samples: [Double]) {
        sorted = samples.sorted()
    }

    var count: Int { sorted.count }
    var p99: Double { value(at: 99) }

    func value(at percentile: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let rank = Int((percentile / 100 * Double(sorted.count - 1)).rounded())
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    func summary(unit: String) -> String {
        [50.0, 99, 99.9].map { "p\($0 == 99.9 ? "99.9" : String(Int($0)))=\(format(value(at: $0)))\(unit)" }.joined(separator: " ")
            + " (n=\(count))"
    }

    private func format(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return "\(rounded)"
    }
}

import Synchronization

/// Samples appended from many tasks.
final class Samples: Sendable {
    private let values = Mutex<[Double]>([])

    func append(_ value: Double) {
        values.withLock { $0.append(value) }
    }

    var all: [Double] { values.withLock { $0 } }
}
