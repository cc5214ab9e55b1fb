// The WAMP v2 message vocabulary as typed values. The wire form of each is an array; its
// layout is the comment above each interface (spec section "Message Definitions").

export type Dict = Record<string, unknown>;

/** A payload forwarded as the bytes it arrived in: a RawPayload (raw-payload.ts). */
export interface PassedPayload {
  readonly serializer: unknown;
  /** `head` (the elements before Arguments) with the payload; null: encode the values instead. */
  encode(head: unknown[]): Uint8Array | null;
  /**
   * encode() as consecutive parts, the payload's not copied (a small payload may be copied into
   * one part with the head); null: encode the values instead.
   */
  parts(head: unknown[]): Uint8Array[] | null;
}
export type Args = unknown[];
export type Kwargs = Dict;

export const MessageType = {
  HELLO: 1,
  WELCOME: 2,
  ABORT: 3,
  CHALLENGE: 4,
  AUTHENTICATE: 5,
  GOODBYE: 6,
  ERROR: 8,
  PUBLISH: 16,
  PUBLISHED: 17,
  SUBSCRIBE: 32,
  SUBSCRIBED: 33,
  UNSUBSCRIBE: 34,
  UNSUBSCRIBED: 35,
  EVENT: 36,
  CALL: 48,
  CANCEL: 49,
  RESULT: 50,
  REGISTER: 64,
  REGISTERED: 65,
  UNREGISTER: 66,
  UNREGISTERED: 67,
  INVOCATION: 68,
  INTERRUPT: 69,
  YIELD: 70,
} as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

// [HELLO, Realm|uri, Details|dict]
export interface Hello {
  type: 1;
  realm: string;
  details: Dict;
}
// [WELCOME, Session|id, Details|dict]
export interface Welcome {
  type: 2;
  session: number;
  details: Dict;
}
// [ABORT, Details|dict, Reason|uri]
export interface Abort {
  type: 3;
  details: Dict;
  reason: string;
}
// [CHALLENGE, AuthMethod|string, Extra|dict]
export interface Challenge {
  type: 4;
  authmethod: string;
  extra: Dict;
}
// [AUTHENTICATE, Signature|string, Extra|dict]
export interface Authenticate {
  type: 5;
  signature: string;
  extra: Dict;
}
// [GOODBYE, Details|dict, Reason|uri]
export interface Goodbye {
  type: 6;
  details: Dict;
  reason: string;
}
// [ERROR, REQUEST.Type|int, REQUEST.Request|id, Details|dict, Error|uri, Arguments|list, ArgumentsKw|dict]
export interface ErrorMessage {
  type: 8;
  requestType: number;
  request: number;
  details: Dict;
  error: string;
  args?: Args;
  kwargs?: Kwargs;
  raw?: PassedPayload | undefined;
}
// [PUBLISH, Request|id, Options|dict, Topic|uri, Arguments|list, ArgumentsKw|dict]
export interface Publish {
  type: 16;
  request: number;
  options: Dict;
  topic: string;
  args?: Args;
  kwargs?: Kwargs;
}
// [PUBLISHED, PUBLISH.Request|id, Publication|id]
export interface Published {
  type: 17;
  request: number;
  publication: number;
}
// [SUBSCRIBE, Request|id, Options|dict, Topic|uri]
export interface Subscribe {
  type: 32;
  request: number;
  options: Dict;
  topic: string;
}
// [SUBSCRIBED, SUBSCRIBE.Request|id, Subscription|id]
export interface Subscribed {
  type: 33;
  request: number;
  subscription: number;
}
// [UNSUBSCRIBE, Request|id, SUBSCRIBED.Subscription|id]
export interface Unsubscribe {
  type: 34;
  request: number;
  subscription: number;
}
// [UNSUBSCRIBED, UNSUBSCRIBE.Request|id] or, router-initiated, [UNSUBSCRIBED, 0, Details|dict]
export interface Unsubscribed {
  type: 35;
  request: number;
  details?: Dict;
}
// [EVENT, SUBSCRIBED.Subscription|id, PUBLISHED.Publication|id, Details|dict, Arguments|list, ArgumentsKw|dict]
export interface Event {
  type: 36;
  subscription: number;
  publication: number;
  details: Dict;
  args?: Args;
  kwargs?: Kwargs;
  raw?: PassedPayload | undefined;
}
// [CALL, Request|id, Options|dict, Procedure|uri, Arguments|list, ArgumentsKw|dict]
export interface Call {
  type: 48;
  request: number;
  options: Dict;
  procedure: string;
  args?: Args;
  kwargs?: Kwargs;
}
// [CANCEL, CALL.Request|id, Options|dict]
export interface Cancel {
  type: 49;
  request: number;
  options: Dict;
}
// [RESULT, CALL.Request|id, Details|dict, YIELD.Arguments|list, YIELD.ArgumentsKw|dict]
export interface Result {
  type: 50;
  request: number;
  details: Dict;
  args?: Args;
  kwargs?: Kwargs;
  raw?: PassedPayload | undefined;
}
// [REGISTER, Request|id, Options|dict, Procedure|uri]
export interface Register {
  type: 64;
  request: number;
  options: Dict;
  procedure: string;
}
// [REGISTERED, REGISTER.Request|id, Registration|id]
export interface Registered {
  type: 65;
  request: number;
  registration: number;
}
// [UNREGISTER, Request|id, REGISTERED.Registration|id]
export interface Unregister {
  type: 66;
  request: number;
  registration: number;
}
// [UNREGISTERED, UNREGISTER.Request|id] or, router-initiated, [UNREGISTERED, 0, Details|dict]
export interface Unregistered {
  type: 67;
  request: number;
  details?: Dict;
}
// [INVOCATION, Request|id, REGISTERED.Registration|id, Details|dict, CALL.Arguments|list, CALL.ArgumentsKw|dict]
export interface Invocation {
  type: 68;
  request: number;
  registration: number;
  details: Dict;
  args?: Args;
  kwargs?: Kwargs;
  raw?: PassedPayload | undefined;
}
// [INTERRUPT, INVOCATION.Request|id, Options|dict]
export interface Interrupt {
  type: 69;
  request: number;
  options: Dict;
}
// [YIELD, INVOCATION.Request|id, Options|dict, Arguments|list, ArgumentsKw|dict]
export interface Yield {
  type: 70;
  request: number;
  options: Dict;
  args?: Args;
  kwargs?: Kwargs;
}

export type Message =
  | Hello
  | Welcome
  | Abort
  | Challenge
  | Authenticate
  | Goodbye
  | ErrorMessage
  | Publish
  | Published
  | Subscribe
  | Subscribed
  | Unsubscribe
  | Unsubscribed
  | Event
  | Call
  | Cancel
  | Result
  | Register
  | Registered
  | Unregister
  | Unregistered
  | Invocation
  | Interrupt
  | Yield;

export const messageName: Record<number, string> = Object.fromEntries(
  Object.entries(MessageType).map(([name, code]) => [code, name]),
);
