// Runs while a user connects: allow (optionally with their profile) or deny.
// event: { username, authParams }   (ChatKitty's UserAttemptedStartSessionEvent)
async function handleEvent(event, context) {
  const { username, authParams } = event;
  if (!authParams || authParams.password !== 'open sesame') {
    context.deny(`bad credentials for ${username}`, 'Wrong username or password.');
  }
  context.log(`${username} signed in`);
  return {
    user: {
      displayName: username.charAt(0).toUpperCase() + username.slice(1),
      displayPictureUrl: `https://api.dicebear.com/7.x/initials/svg?seed=${encodeURIComponent(username)}`,
      properties: { signedInWith: 'password' },
    },
  };
}
