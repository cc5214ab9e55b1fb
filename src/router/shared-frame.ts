// One message going to many sessions (an EVENT fan-out) is encoded once per serializer in use,
// not once per recipient.

import { MessageType as T, type Message } from '../wamp/messages.ts';
import type { RawPayload } from '../wamp/raw-payload.ts';
import type { StoredEvent } from './event-store.ts';
import type { Subscription } from './subscription.ts';
import { encodeMessage } from '../wamp/marshal.ts';
import type { Serializer, SerializerName } from '../serializers/serializer.ts';

export class SharedFrame {
  readonly message: Message;
  // null marks a serializer that failed to encode this message, so it is not retried.
  readonly #frames: Partial<Record<SerializerName, Uint8Array | null>> = {};

  constructor(message: Message) {
    this.message = message;
  }

  frameFor(serializer: Serializer): Uint8Array | null {
    const cached = this.#frames[serializer.name];
    if (cached !== undefined) return cached;
    let frame: Uint8Array | null;
    try {
      frame = encodeMessage(this.message, serializer);
    } catch {
      frame = null;
    }
    this.#frames[serializer.name] = frame;
    return frame;
  }
}

/** The EVENT of `event` for the subscribers of `subscription`, encoded once per serializer. */
export function eventFrame(subscription: Subscription, event: StoredEvent, raw: RawPayload | undefined): SharedFrame {
  return new SharedFrame({
    type: T.EVENT,
    subscription: subscription.id,
    publication: event.publication,
    details: subscription.match === 'exact' ? event.details : { ...event.details, topic: event.topic },
    args: event.args,
    kwargs: event.kwargs,
    raw,
  });
}
