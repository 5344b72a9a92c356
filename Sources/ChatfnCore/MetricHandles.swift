import CoreMetrics
import Synchronization

/// Metric handles by their label values, each made once. Making one goes through swift-metrics'
/// factory (in Prometheus: a lock, a lookup by name and labels, label checks), which costs more than
/// the rest of an invocation's dispatch; a handle kept here costs a hash and an uncontended lock.
/// Bounded like the series themselves: labels come only from functions that exist.
final class MetricHandles<Handle: Sendable>: Sendable {
    struct Labels: Hashable, Sendable {
        var first: String
        var second: String
        var third: String
    }

    private let handles = Mutex<[Labels: Handle]>([:])
    private let make: @Sendable (Labels) -> Handle

    init(_ make: @escaping @Sendable (Labels) -> Handle) {
        self.make = make
    }

    func callAsFunction(_ first: String, _ second: String, _ third: String = "") -> Handle {
        let labels = Labels(first: first, second: second, third: third)
        if let handle = handles.withLock({ $0[labels] }) { return handle }
        let made = make(labels)
        return handles.withLock { handles in
            if let existing = handles[labels] { return existing }
            handles[labels] = made
            return made
        }
    }
}
