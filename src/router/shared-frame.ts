// One message going to many sessions (an EVENT fan-out) is encoded once per serializer in use,
// not once per recipient.

import type { Message } from '../wamp/messages.ts';
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
