// What an event frame carries in `b`: the publication as its origin's Broker delivered it,
// encoded once by the origin and decoded only where it is delivered (after its seal is checked:
// event-seal.ts). The nodes on the way never read it.

import { cbor } from '../../serializers/cbor.ts';
import type { Dict } from '../../wamp/messages.ts';
import { detailsOk, filterOk, isId, isInt, isMap, isStr, optDict, optList } from './frame-values.ts';

/** What an event frame's `b` holds: the publication as the origin's Broker delivered it. */
export interface EventContent {
  readonly realm: string;
  readonly topic: string;
  readonly publication: number;
  readonly timestamp: number;
  /** As the origin's Broker wrote them: publisher, publisher_authid... only if it disclosed itself. */
  readonly details: Dict;
  readonly args?: unknown[];
  readonly kwargs?: Dict;
  readonly excluded?: number;
  readonly filter?: Dict;
  readonly retain: boolean;
}

/** An event frame's content (its `b`, decoded), or a sentence naming what is wrong with it. */
export function validateEventContent(v: unknown): EventContent | string {
  return isMap(v) &&
    isStr(v.realm) &&
    isStr(v.topic) &&
    isId(v.publication) &&
    isInt(v.timestamp) &&
    isMap(v.details) &&
    detailsOk(v.details) &&
    optList(v.args) &&
    optDict(v.kwargs) &&
    (v.excluded === undefined || isInt(v.excluded)) &&
    filterOk(v.filter) &&
    typeof v.retain === 'boolean'
    ? (v as unknown as EventContent)
    : 'event: bad content';
}

/** An event's `b`; throws when it cannot be encoded. */
export function encodeEventContent(content: EventContent): Uint8Array {
  return cbor.encode(content as unknown as unknown[]);
}

/** An event's content from its `b`, validated; or a sentence naming what is wrong with it. */
export function decodeEventContent(b: Uint8Array): EventContent | string {
  let value: unknown;
  try {
    value = cbor.decode(b);
  } catch (error) {
    return `undecodable event: ${(error as Error).message}`;
  }
  return validateEventContent(value);
}
