import Synchronization

/// Ids unique across processes and restarts (invocation ids, correlation ids): a random 64-bit prefix
/// per generator and a counter. (Foundation's UUID reads /dev/urandom on every call, which showed up on
/// the hot path.)
package final class UniqueIdentifiers: Sendable {
    private let prefix: String
    private let counter = Atomic<UInt64>(0)

    package init() {
        var generator = SystemRandomNumberGenerator()
        let random = generator.next() as UInt64
        let digits = String(random, radix: 16)
        prefix = String(repeating: "0", count: 16 - digits.count) + digits
    }

    package func next() -> String {
        let sequence = counter.add(1, ordering: .relaxed).newValue
        return "\(prefix)-\(String(sequence, radix: 16))"
    }
}
