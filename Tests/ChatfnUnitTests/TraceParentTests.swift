import ChatEvents
import Testing

@Suite("W3C traceparent")
struct TraceParentTests {
    @Test("a well-formed traceparent is kept; anything else starts a new trace")
    func validation() {
        let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        #expect(TraceParent.validated(valid) == valid)
        // A later version may add fields: the first four are read.
        #expect(TraceParent.validated("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra") == "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        for invalid in [
            "", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        ] {
            #expect(TraceParent.validated(invalid) == nil, "\(invalid)")
        }
        #expect(CloudEventAttributes(id: "e", type: "t", source: "s", traceparent: "garbage").traceparent == nil)
    }
}
