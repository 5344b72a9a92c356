import ChatEvents
import Hummingbird

/// What a client asks before anything else: what its token may do, and the triggers chatfn knows.
extension ControlAPI {
    struct Session: Encodable {
        /// False for the read-only token: a client offers no control that changes anything.
        var canChange: Bool
        /// The token's fingerprint, as versions and the audit log record their author.
        var fingerprint: String
    }

    func session(_ context: ControlRequestContext) throws -> Response {
        try JSONCoding.response(Session(canChange: context.caller.canChange, fingerprint: context.caller.actor.fingerprint))
    }

    func listTriggers() throws -> Response {
        try JSONCoding.response(TriggerCatalog.all)
    }
}
