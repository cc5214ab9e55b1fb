// Retained events (WAMP advanced profile "Event Retention"): the last event of a topic, kept
// and sent to a subscriber that asks with get_retained.

import { MessageType as T, type Dict } from '../wamp/messages.ts';
import type { EventStore, StoredEvent } from './event-store.ts';
import { eligible, type Filter } from './subscriber-filter.ts';
import type { Subscription } from './subscription.ts';
import type { Target } from './target.ts';
import { uriMatches } from './uri-table.ts';

/**
 * A retained publication replaces the topic's retained event; one without payload clears it,
 * as an empty retained message does in MQTT (so MQTT clients can clear what they retained).
 */
export function retainEvent(store: EventStore, realm: string, event: StoredEvent): void {
  if (
    (event.args === undefined || event.args.length === 0) &&
    (event.kwargs === undefined || Object.keys(event.kwargs).length === 0)
  ) {
    store.unretain(realm, event.topic);
  } else store.retain(realm, event);
}

export function sendRetained(store: EventStore, realm: string, subscriber: Target, subscription: Subscription): void {
  const events =
    subscription.match === 'exact'
      ? [store.retained(realm, subscription.topic)].filter((e) => e !== undefined)
      : [...store.allRetained(realm)].filter((e) => uriMatches(subscription.topic, subscription.match, e.topic));
  for (const event of events) {
    if (event.filter !== undefined && !eligible(event.filter as Filter, subscriber)) continue;
    const details: Dict = { ...event.details, retained: true };
    if (subscription.match !== 'exact') details.topic = event.topic;
    subscriber.send({
      type: T.EVENT,
      subscription: subscription.id,
      publication: event.publication,
      details,
      args: event.args,
      kwargs: event.kwargs,
    });
  }
}
