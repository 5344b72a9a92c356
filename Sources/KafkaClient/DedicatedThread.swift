import Foundation

/// Runs blocking librdkafka calls on a thread of their own, so that no cooperative-pool thread ever waits
/// on the network.
package enum DedicatedThread {
    package static func run<T: Sendable>(name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.name = name
            thread.start()
        }
    }
}
