// Sends a push notification when a user receives a notification while not connected.
// event: { user, notification, userHasActiveSession }  (ChatKitty's UserReceivedNotificationEvent)
async function handleEvent(event, context) {
  const { user, notification } = event;
  if (event.userHasActiveSession) {
    context.log(`${user.name} is online; the chat client shows the notification itself`);
    return { pushed: false, reason: 'online' };
  }

  const pushToken = user.properties?.pushToken;
  if (!pushToken) {
    context.log(`${user.name} has no push token in user.properties`);
    return { pushed: false, reason: 'no-token' };
  }

  const push = {
    to: pushToken,
    title: notification.title,
    body: notification.body,
    data: { notificationId: notification.id, channelId: notification.channel?.id, eventId: context.eventId },
  };

  const pushUrl = process.env.PUSH_URL;
  if (!pushUrl) {
    console.log(`PUSH_URL is not set; would send: ${JSON.stringify(push)}`);
    return { pushed: false, reason: 'no-push-url' };
  }

  const response = await fetch(pushUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': context.eventId },
    body: JSON.stringify(push),
  });
  if (!response.ok) {
    throw new Error(`push service answered ${response.status} ${response.statusText}`);
  }
  console.log(`push sent to ${user.name}`);
  return { pushed: true };
}
