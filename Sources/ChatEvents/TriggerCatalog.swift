/// The triggers chatfn knows by name: ChatKitty's nine and `user.attempted.send_message`, each with its
/// event shape (docs/events.md), an example event and a function template that shows it. The dashboard
/// lists them and starts new functions from them; any other dotted type is a custom trigger.
package struct KnownTrigger: Sendable, Codable, Equatable {
    package var type: String
    package var blocking: Bool
    package var summary: String
    /// The event's fields as docs/events.md writes them, e.g. `{user, notification, userHasActiveSession}`.
    package var eventShape: String
    /// An event of this trigger as JSON text.
    package var exampleEvent: String
    /// A first function for this trigger.
    package var template: String
}

package enum TriggerCatalog {
    package static func trigger(_ type: String) -> KnownTrigger? { all.first { $0.type == type } }

    /// A first TypeScript function for `type` (known or custom), typed with chatfn.d.ts.
    package static func typescriptTemplate(for type: String) -> String {
        guard let known = trigger(type) else {
            return """
                // \(type): a custom event type.
                export async function handleEvent(event: unknown, context: chatfn.Context) {
                  console.log(`\(type) ${context.eventId}: ${JSON.stringify(event)}`);
                }

                """
        }
        return known.template.replacingOccurrences(
            of: "async function handleEvent(event, context) {",
            with: "export async function handleEvent(event: chatfn.Events['\(type)'], context: chatfn.Context)\(known.blocking ? ": Promise<chatfn.Allow>" : "") {")
    }

    package static let all: [KnownTrigger] = [
        blocking(
            "user.attempted.start_session", "Runs while a user connects: allow, with their profile, or deny.",
            fields: ["username", "authParams"],
            example: #"{"username": "ada", "authParams": {"password": "open sesame"}}"#,
            body: """
              const { username, authParams } = event;
              if (!authParams || !authParams.password) {
                context.deny(`no password for ${username}`, 'Wrong username or password.');
              }
              // Allow, with the profile the chat shows for this user.
              return { user: { displayName: username } };
            """),
        blocking(
            BlockingTriggers.sendMessage, "Runs before a message is delivered: allow, replace the message, or deny.",
            fields: ["user", "channel", "message"],
            example: #"{"user": \#(user), "channel": \#(channel), "message": {"type": "TEXT", "body": "Are the punch cards ready?"}}"#,
            body: """
              const { user, message } = event;
              if (/spam/i.test(message.body ?? '')) {
                context.deny(`spam from ${user.name}`, 'This message looks like spam.');
              }
              // Allow it unchanged; return { message: { ...message, body: '…' } } to replace it.
              return {};
            """),
        nonBlocking(
            "user.received.notification", "A user received a notification: send a push or an email when they are offline.",
            fields: ["user", "notification", "userHasActiveSession"],
            example: #"{"user": \#(user), "notification": {"id": 3021, "title": "Grace sent a message", "body": "Are the punch cards ready?", "channel": \#(channel), "createdTime": "2026-11-25T09:12:44.512Z", "muted": false, "data": {"type": "USER:SENT:MESSAGE", "message": {"id": 88, "body": "Are the punch cards ready?"}}}, "userHasActiveSession": false}"#,
            body: """
              const { user, notification, userHasActiveSession } = event;
              if (userHasActiveSession) return; // the chat client shows it
              console.log(`notify ${user.name}: ${notification.title}`);
            """),
        nonBlocking(
            "user.sent.message", "A user sent a message.",
            fields: ["user", "channel", "message"],
            example: #"{"user": \#(user), "channel": \#(channel), "message": \#(message)}"#,
            body: """
              const { user, channel, message } = event;
              console.log(`${user.name} in ${channel.name}: ${message.body}`);
            """),
        nonBlocking(
            "user.started.chat_session", "A user started a chat session in a channel.",
            fields: ["user", "channel", "channelUnread", "channelMessagesCount"],
            example: #"{"user": \#(user), "channel": \#(channel), "channelUnread": true, "channelMessagesCount": 42}"#,
            body: """
              const { user, channel, channelUnread, channelMessagesCount } = event;
              console.log(`${user.name} opened ${channel.name} (${channelMessagesCount} messages, unread: ${channelUnread})`);
            """),
        nonBlocking(
            "user.reacted.to_message", "A user reacted to a message.",
            fields: ["user", "message", "reaction"],
            example: #"{"user": \#(user), "message": \#(message), "reaction": {"emoji": {"character": "👍", "aliases": ["thumbsup"]}, "count": 1}}"#,
            body: """
              const { user, message, reaction } = event;
              console.log(`${user.name} reacted ${reaction.emoji?.character} to message ${message.id}`);
            """),
        nonBlocking(
            "user.read.message", "A user read a message.",
            fields: ["user", "message", "receipt"],
            example: #"{"user": \#(user), "message": \#(message), "receipt": {"user": \#(user), "createdTime": "2026-11-25T09:13:02.104Z"}}"#,
            body: """
              const { user, message, receipt } = event;
              console.log(`${user.name} read message ${message.id} at ${receipt.createdTime}`);
            """),
        nonBlocking(
            "user.received.channel_invite", "A user was invited to a channel.",
            fields: ["user", "channel", "invitingUser"],
            example: #"{"user": \#(user), "channel": \#(channel), "invitingUser": {"id": 15, "name": "grace", "displayName": "Grace Hopper"}}"#,
            body: """
              const { user, channel, invitingUser } = event;
              console.log(`${invitingUser?.name ?? 'someone'} invited ${user.name} to ${channel.name}`);
            """),
        nonBlocking(
            "user.triggered.event", "A user triggered a custom channel event (e.g. typing).",
            fields: ["user", "channel", "event"],
            example: #"{"user": \#(user), "channel": \#(channel), "event": {"type": "typing", "properties": {"active": true}}}"#,
            body: """
              const { user, channel } = event;
              console.log(`${user.name} triggered ${event.event.type} in ${channel.name}`);
            """),
        nonBlocking(
            "system.triggered.event", "The system triggered a custom channel event.",
            fields: ["channel", "event"],
            example: #"{"channel": \#(channel), "event": {"type": "maintenance", "properties": {"minutes": 5}}}"#,
            body: """
              const { channel } = event;
              console.log(`system event ${event.event.type} in ${channel.name}`);
            """),
    ]

    // Parts shared by the examples: one user, channel and message, as ChatKitty sends them.
    private static let user = #"{"id": 14, "name": "ada", "displayName": "Ada Lovelace", "displayPictureUrl": "https://example.com/ada.png", "isGuest": false, "presence": {"status": "AWAY", "online": false}, "properties": {"pushToken": "ExponentPushToken[ada-device-1]"}}"#
    private static let channel = #"{"id": 702, "type": "PUBLIC", "name": "engines", "displayName": "Engines"}"#
    private static let message = #"{"id": 88, "type": "TEXT", "body": "Are the punch cards ready?", "createdTime": "2026-11-25T09:12:44.512Z"}"#

    private static func blocking(_ type: String, _ summary: String, fields: [String], example: String, body: String) -> KnownTrigger {
        known(type, blocking: true, summary, fields: fields, example: example, body: body)
    }

    private static func nonBlocking(_ type: String, _ summary: String, fields: [String], example: String, body: String) -> KnownTrigger {
        known(type, blocking: false, summary, fields: fields, example: example, body: body)
    }

    private static func known(_ type: String, blocking: Bool, _ summary: String, fields: [String], example: String, body: String) -> KnownTrigger {
        let shape = "{\(fields.joined(separator: ", "))}"
        let template = """
            // \(type): \(summary)
            // event: \(shape)
            // context: eventId, attempt, secrets, \(blocking ? "deny(reason, userMessage)" : "emit(type, data, { key })"), log(...)
            async function handleEvent(event, context) {
            \(body)
            }

            """
        return KnownTrigger(type: type, blocking: blocking, summary: summary, eventShape: shape, exampleEvent: example, template: template)
    }
}
