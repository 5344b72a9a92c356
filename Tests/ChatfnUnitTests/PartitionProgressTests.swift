@testable import EventConsumer
import KafkaClient
import Testing

@Suite("Contiguous offset commits")
struct PartitionProgressTests {
    @Test("the commit offset moves only past the completed prefix")
    func contiguousPrefix() {
        var progress = PartitionProgress(generation: 1)
        for offset in [10, 11, 12, 13] as [Int64] { progress.delivered(offset) }
        #expect(progress.completed(12) == nil)  // 10 and 11 still running
        #expect(progress.completed(11) == nil)
        #expect(progress.inFlight == 4)
        #expect(progress.completed(10) == 13)  // 10, 11, 12 done: commit 13
        #expect(progress.inFlight == 1)
        #expect(progress.completed(13) == 14)
        #expect(progress.inFlight == 0)
    }

    @Test("gaps in offsets (compaction, transaction markers) do not stall the prefix")
    func gapsInOffsets() {
        var progress = PartitionProgress(generation: 1)
        for offset in [5, 9, 20] as [Int64] { progress.delivered(offset) }
        #expect(progress.completed(9) == nil)
        #expect(progress.completed(5) == 10)
        #expect(progress.completed(20) == 21)
    }

    @Test("a completion for an offset not handed out, or twice, changes nothing")
    func strayCompletions() {
        var progress = PartitionProgress(generation: 1)
        progress.delivered(7)
        #expect(progress.completed(3) == nil)
        #expect(progress.completed(7) == 8)
        #expect(progress.completed(7) == nil)
        #expect(progress.inFlight == 0)
    }
}

@Suite("Abandoned records")
struct AbandonedRecordTests {
    @Test("an abandoned record holds the commit back but is not waited for")
    func abandonedHoldsCommitBack() {
        var progress = PartitionProgress(generation: 1)
        for offset in [0, 1, 2] as [Int64] { progress.delivered(offset) }
        progress.abandon(1)
        #expect(progress.running == 2)
        #expect(progress.completed(0) == 1)
        #expect(progress.completed(2) == nil)  // 1 was given up: the commit stays at 1
        #expect(progress.running == 0)
        #expect(progress.completed(1) == nil)  // nor can it complete later
    }
}
