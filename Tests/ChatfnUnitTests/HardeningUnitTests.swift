import ChatfnCore
@testable import Dispatcher
import Functions
import ChatEvents
import KafkaClient
import EventConsumer
import Foundation
import Synchronization
import Testing
@testable import Workers

/// The pure pieces of hardening: no broker, no Node.
@Suite("Hardening, unit")
struct HardeningUnitTests {
    @Test("saturating arithmetic clamps at the edges instead of trapping")
    func saturating() {
        #expect(Int64.min.subtractingSaturated(1) == .min)
        #expect(Int64(5).subtractingSaturated(.min) == .max)
        #expect(Int64.max.addingSaturated(1) == .max)
        #expect(Int64.min.addingSaturated(-1) == .min)
        #expect(Int64.max.multipliedSaturated(by: 2) == .max)
        #expect(Int64.max.multipliedSaturated(by: -2) == .min)
        #expect(Int64(7).subtractingSaturated(3) == 4)
        #expect(Duration.seconds(Int64.max).wholeMilliseconds == .max)
        #expect(Duration.milliseconds(Int64(1e16)).wholeNanoseconds == .max)
        #expect(Duration.milliseconds(1_500).wholeNanoseconds == 1_500_000_000)
    }

    @Test("control characters are escaped; newlines kept only when asked")
    func escaping() {
        #expect("a\nb\u{1b}[2Jc\r\t".escapingControlCharacters() == #"a\nb\u{1b}[2Jc\r\t"#)
        #expect("line1\nline2\u{7}".escapingControlCharacters(keepingNewlines: true) == "line1\nline2\\u{7}")
        #expect("plain ünïcode".escapingControlCharacters() == "plain ünïcode")
        #expect("a\u{2028}b\u{202E}c".escapingControlCharacters() == #"a\u{2028}b\u{202e}c"#, "separators and bidi overrides too")
    }

    @Test("truncation keeps whole characters and says how much was cut")
    func truncation() {
        #expect("short".truncated(toUTF8Bytes: 10) == "short")
        #expect("ééééé".truncated(toUTF8Bytes: 5) == "éé… [6 more bytes]")
        let error = InvocationError(name: "E", message: String(repeating: "m", count: 20_000), stack: String(repeating: "s", count: 40_000))
        #expect(error.bounded.message.utf8.count < 8_300 && error.bounded.stack!.utf8.count < 16_500)
    }

    @Test("output after a function returned is bounded per window and the drops are counted")
    func unattributedOutput() {
        var output = UnattributedOutput()
        let start = ContinuousClock.now
        let kept = (0..<150).filter { _ in output.admit(now: start).keep }.count
        #expect(kept == WorkerLimits.maxUnattributedLines)
        let next = output.admit(now: start + WorkerLimits.unattributedWindow)
        #expect(next.keep && next.droppedBefore == 50)
    }

    @Test("librdkafka's refusals are told apart from a broker that is away")
    func refusalClassification() {
        #expect(KafkaError("x", code: 10).refusesRecord && KafkaError("x", code: 10).isRecordTooLarge)
        #expect(KafkaError("x", code: 29).refusesRecord && !KafkaError("x", code: 29).isRecordTooLarge)
        #expect(!KafkaError("transport", code: -195).refusesRecord)
        #expect(!KafkaError("timed out", code: -192).refusesRecord)
        #expect(!KafkaError("no code").refusesRecord)
    }

    @Test("a reduced dead letter drops the value and large headers, keeps the annotations, and is not replayed")
    func reducedDeadLetter() throws {
        let original = KafkaRecord(
            position: RecordPosition(topic: "chatfn.events", partition: 1, offset: 9), key: Array(repeating: 1, count: 5_000),
            value: Array(repeating: 0x78, count: 2_000_000),
            headers: [KafkaHeader(key: "ce_id", string: "e1"), KafkaHeader(key: "big", value: Array(repeating: 0, count: 4_096))],
            timestampMs: nil)
        let letter = DeadLetter.record(for: original, topic: "chatfn.dlq", reason: .tooLarge(bytes: 2_000_000, limit: 1_048_576), functionVersion: nil)
        let reduced = try #require(DeadLetter.reduced(letter))
        #expect(reduced.value.isEmpty && reduced.key == nil)
        #expect(reduced.headers.last(named: "ce_id")?.stringValue == "e1" && reduced.headers.last(named: "big") == nil)
        #expect(reduced.headers.last(named: "chatfn_dlq_value_bytes")?.stringValue == "2000000")
        #expect(reduced.headers.last(named: "chatfn_dlq_source_offset")?.stringValue == "9")
        #expect(DeadLetter.reduced(reduced) == nil, "reduced once only")
        let consumed = KafkaRecord(position: original.position, key: nil, value: [], headers: reduced.headers, timestampMs: nil)
        #expect(DeadLetter.replay(consumed) == nil && DeadLetter.replayProblem(consumed) != nil)
    }

    @Test("admission turns a request away at once when the queue ahead cannot drain before its deadline")
    func admission() async {
        let admission = AdmissionControl(capacity: 1, replyMarginMs: 0)
        #expect(await admission.admit(deadlineMs: EpochMilliseconds.now() + 60_000))
        admission.release(heldFor: .seconds(10))  // the lane's pace: 10 s per request
        #expect(await admission.admit(deadlineMs: EpochMilliseconds.now() + 60_000))
        let waiting = Task { await admission.admit(deadlineMs: EpochMilliseconds.now() + 60_000) }
        while admission.load.waiting < 1 { await Task.yield() }
        let started = ContinuousClock.now
        #expect(await admission.admit(deadlineMs: EpochMilliseconds.now() + 5_000) == false, "one ahead at 10 s each: no start within 5 s")
        #expect(ContinuousClock.now - started < .seconds(2), "turned away at once")
        admission.release(heldFor: .seconds(10))
        #expect(await waiting.value, "the waiter got the released slot")
        #expect(await admission.admit(deadlineMs: EpochMilliseconds.now() - 1) == false, "past its deadline")
    }

    @Test("one slow request (a cold start) does not turn away a flood the other slots serve in time")
    func admissionAfterOneSlowRequest() async {
        let admission = AdmissionControl(capacity: 64, replyMarginMs: 0)
        #expect(await admission.admit(deadlineMs: EpochMilliseconds.now() + 30_000))
        admission.release(heldFor: .seconds(5))  // the first request waited for its worker to start
        // A flood: 64 run, 1,000 wait; each later request holds its slot 10 ms, so all start within 30 s.
        for _ in 0..<64 { #expect(await admission.admit(deadlineMs: EpochMilliseconds.now() + 30_000)) }
        let flood = await Self.queued(1_000, on: admission, deadlineInMs: 30_000)
        for _ in 0..<1_000 { admission.release(heldFor: .milliseconds(10)) }
        var admitted = 0
        for request in flood where await request.value { admitted += 1 }
        #expect(admitted == 1_000, "turned away: \(1_000 - admitted)")
    }

    @Test("requests that waited for their process to start do not set the pace: a launch holds every waiting slot at once")
    func admissionIgnoresColdStarts() async {
        let admission = AdmissionControl(capacity: 2, replyMarginMs: 0)
        for _ in 0..<2 { #expect(await admission.admit(deadlineMs: EpochMilliseconds.now() + 60_000)) }
        for _ in 0..<2 { admission.release(heldFor: .seconds(20), coldStart: true) }
        for _ in 0..<2 { #expect(await admission.admit(deadlineMs: EpochMilliseconds.now() + 60_000)) }
        // Two running, four waiting: at the launches' pace (20 s a slot) the last could not start in 30 s.
        let waiting = await Self.queued(4, on: admission, deadlineInMs: 30_000)
        for _ in 0..<4 { admission.release(heldFor: .milliseconds(10)) }
        for request in waiting { #expect(await request.value) }
    }

    /// Asks `admission` for `count` slots at once; returns once each request has queued or was answered.
    private static func queued(_ count: Int, on admission: AdmissionControl, deadlineInMs: Int64) async -> [Task<Bool, Never>] {
        let answered = AnsweredCount()
        let requests = (0..<count).map { _ in
            Task {
                let admitted = await admission.admit(deadlineMs: EpochMilliseconds.now() + deadlineInMs)
                answered.count.add(1, ordering: .relaxed)
                return admitted
            }
        }
        while admission.load.waiting + answered.count.load(ordering: .relaxed) < count { await Task.yield() }
        return requests
    }
}

private final class AnsweredCount: Sendable {
    let count = Atomic<Int>(0)
}
