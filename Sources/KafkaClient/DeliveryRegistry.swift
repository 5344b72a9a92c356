import CKafka
import Synchronization

/// Continuations of produced records awaiting their delivery report, by message id.
final class DeliveryRegistry: Sendable {
    private struct State {
        var nextId: UInt = 1
        var pending: [UInt: CheckedContinuation<DeliveryReceipt, any Error>] = [:]
    }

    private let state = Mutex(State())
    /// Records sent without waiting (message id 0) whose delivery failed.
    let backgroundFailures = Atomic<Int>(0)

    func register(_ continuation: CheckedContinuation<DeliveryReceipt, any Error>) -> UInt {
        state.withLock { state in
            let id = state.nextId
            state.nextId &+= 1
            if state.nextId == 0 { state.nextId = 1 }  // 0 would be a null opaque pointer
            state.pending[id] = continuation
            return id
        }
    }

    func take(_ id: UInt) -> CheckedContinuation<DeliveryReceipt, any Error>? {
        state.withLock { $0.pending.removeValue(forKey: id) }
    }

    func failAll(_ error: KafkaError) {
        let all = state.withLock { state in
            defer { state.pending.removeAll() }
            return Array(state.pending.values)
        }
        for continuation in all { continuation.resume(throwing: error) }
    }
}

/// librdkafka calls this on the producer's poll thread for every produced record.
let deliveryReportCallback: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
    _, message, opaque in
    guard let message, let opaque else { return }
    let registry = Unmanaged<DeliveryRegistry>.fromOpaque(opaque).takeUnretainedValue()
    let id = UInt(bitPattern: message.pointee._private)
    if id == 0 {
        if message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR { registry.backgroundFailures.add(1, ordering: .relaxed) }
        return
    }
    guard let continuation = registry.take(id) else { return }
    if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        continuation.resume(returning: DeliveryReceipt(partition: message.pointee.partition, offset: message.pointee.offset))
    } else {
        continuation.resume(throwing: KafkaError("delivery failed", rdError: message.pointee.err))
    }
}
