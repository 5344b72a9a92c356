// chatfn's typings for functions: every trigger's event, and the context. `chatfn init` writes this file
// beside an application and points its tsconfig.json at it; `chatfn check` type-checks against it.
//
//   export async function handleEvent(event: chatfn.Events['user.received.notification'], context: chatfn.Context) { … }

declare namespace chatfn {
  interface User {
    id: number;
    /** The username. */
    name: string;
    displayName: string;
    displayPictureUrl?: string;
    isGuest: boolean;
    presence?: { status: string; online: boolean };
    /** Free-form, set by the client app (a push token, say). */
    properties?: Record<string, unknown>;
  }

  interface Channel {
    id: number;
    type?: string;
    name?: string;
    displayName?: string;
    properties?: Record<string, unknown>;
  }

  interface Message {
    id?: number;
    type?: string;
    body?: string;
    createdTime?: string;
    user?: User;
    properties?: Record<string, unknown>;
  }

  interface Notification {
    id: number;
    title: string;
    body: string;
    channel?: Channel;
    createdTime: string;
    readTime?: string;
    muted: boolean;
    /** `type` tells which: USER:SENT:MESSAGE, SYSTEM:SENT:MESSAGE, USER:MENTIONED:USER, USER:MENTIONED:CHANNEL, USER:REPLIED_TO:MESSAGE. */
    data: { type: string; message?: Message; mentionedUser?: User; mentionedChannel?: Channel; parent?: Message };
  }

  interface Reaction {
    emoji?: { character: string; aliases?: string[] };
    count?: number;
  }

  interface ReadReceipt {
    user?: User;
    createdTime: string;
  }

  interface ChannelEvent {
    type: string;
    properties?: Record<string, unknown>;
  }

  /** The event of each trigger chatfn knows (docs/events.md). */
  interface Events {
    'user.attempted.start_session': { username: string; authParams: Record<string, unknown> };
    'user.attempted.send_message': { user: User; channel: Channel; message: Message };
    'user.received.notification': { user: User; notification: Notification; userHasActiveSession: boolean };
    'user.sent.message': { user: User; channel: Channel; message: Message };
    'user.started.chat_session': { user: User; channel: Channel; channelUnread: boolean; channelMessagesCount: number };
    'user.reacted.to_message': { user: User; message: Message; reaction: Reaction };
    'user.read.message': { user: User; message: Message; receipt: ReadReceipt };
    'user.received.channel_invite': { user: User; channel: Channel; invitingUser?: User };
    'user.triggered.event': { user: User; channel: Channel; event: ChannelEvent };
    'system.triggered.event': { channel: Channel; event: ChannelEvent };
  }

  interface Context {
    /** The CloudEvent's id: the same on every retry, so an idempotency key. */
    eventId: string;
    invocationId: string;
    trigger: string;
    appId: string;
    source: string;
    time: string | null;
    /** 1 on the first try. */
    attempt: number;
    /** When the invocation times out, in epoch milliseconds. */
    deadline: number;
    /** The W3C trace context of this invocation, to pass to the services it calls. */
    traceparent: string | null;
    /** The runtime's environment variables. */
    env: Record<string, string | undefined>;
    /** The application's secrets (masked in the function's output). */
    secrets: Record<string, string>;
    /** What the initialization script exported. */
    init: unknown;
    /** Lines shown with the invocation (as console.log is). */
    log(...values: unknown[]): void;
    /** A command for the chat platform, published if the invocation succeeds (non-blocking triggers). */
    emit(type: string, data?: unknown, options?: { key?: string }): void;
    /** Denies a blocking request: `reason` for the platform, `userMessage` for the user. */
    deny(reason?: string, userMessage?: string): never;
    /** The chat platform's HTTP API (runtime.platform in chatfn.json). */
    api: {
      get(path: string): Promise<unknown>;
      post(path: string, body?: unknown): Promise<unknown>;
      put(path: string, body?: unknown): Promise<unknown>;
      patch(path: string, body?: unknown): Promise<unknown>;
      delete(path: string): Promise<unknown>;
    };
  }

  /** What a blocking trigger's function returns to allow (nothing, a profile, or a replacement message). */
  interface Allow {
    user?: Partial<User>;
    message?: Message;
  }
}

// The parts of Node a function uses, for type-checking without @types/node.
declare const process: { env: Record<string, string | undefined> };
declare function require(id: string): any;
declare const module: { exports: any };
declare const exports: any;
declare const Buffer: any;
