// The EVENT of a publication for the subscribers of one subscription: the subscription's own ID,
// and the topic in the details where the subscription matched by pattern.

import { MessageType as T } from '../wamp/messages.ts';
import type { RawPayload } from '../wamp/raw-payload.ts';
import type { StoredEvent } from './event-store.ts';
import { SharedFrame } from './shared-frame.ts';
import type { Subscription } from './subscription.ts';

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
