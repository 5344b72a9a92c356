// Logs every message a user sends.
// event: { user, channel, message }
async function handleEvent(event, context) {
  const channel = event.channel?.name ?? event.channel?.id ?? 'unknown channel';
  console.log(`${event.user?.displayName ?? event.user?.name} in ${channel}: ${event.message?.body ?? ''}`);
}
