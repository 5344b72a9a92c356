import ChatEvents
import Foundation
import Testing

@Suite("The known triggers: ChatKitty's nine and send_message, with shapes, examples and templates")
struct TriggerCatalogTests {
    @Test("every trigger once, blocking exactly when the blocking lane answers it, with ChatKitty's event fields in its example and template")
    func catalogIsConsistent() throws {
        let types = TriggerCatalog.all.map(\.type)
        #expect(Set(types).count == types.count)
        #expect(types.count == 10 && types.contains(BlockingTriggers.startSession) && types.contains(BlockingTriggers.sendMessage))
        for trigger in TriggerCatalog.all {
            #expect(trigger.blocking == BlockingTriggers.isBlocking(trigger.type), "\(trigger.type)")
            let example = try #require(try JSONSerialization.jsonObject(with: Data(trigger.exampleEvent.utf8)) as? [String: Any], "\(trigger.type)")
            let fields = trigger.eventShape.trimmingCharacters(in: CharacterSet(charactersIn: "{}")).components(separatedBy: ", ")
            #expect(Set(example.keys) == Set(fields), "\(trigger.type): the example's fields are the shape's")
            #expect(trigger.template.contains("async function handleEvent(event, context)") && trigger.template.contains(trigger.eventShape), "\(trigger.type)")
        }
        #expect(TriggerCatalog.trigger("user.received.notification")?.blocking == false)
        #expect(TriggerCatalog.trigger("order.shipped") == nil)
    }
}
