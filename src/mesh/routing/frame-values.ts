// The checks of the values in router-to-router frames (frames.ts validates a frame with them;
// event-content.ts an event's content): what another router may put in each field.

import type { Dict } from '../../wamp/messages.ts';
import { isDict } from '../../wamp/parse.ts';

export const isStr = (v: unknown): v is string => typeof v === 'string';
export const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
export const isMatch = (v: unknown) => v === 'exact' || v === 'prefix' || v === 'wildcard';
export const optList = (v: unknown) => v === undefined || Array.isArray(v);
// Payloads (args, kwargs, and an ERROR's details) are the clients', passed on as their routers
// took them: dicts as the core takes them.
export const optDict = (v: unknown) => v === undefined || isDict(v);
// What routers write themselves (the frame, advertisements, details of calls, results and
// events, filters) is a plain object, as the CBOR decoder makes a map. Its tags also make
// Dates, RegExps and Errors, objects too, which other serializers cannot carry as maps (a
// RegExp would reach a MsgPack subscriber as a list).
export const isMap = (v: unknown): v is Dict => {
  if (!isDict(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};
export const isBool = (v: unknown) => typeof v === 'boolean';
// A WAMP ID: an event's publication reaches subscribers as is, so it must be one (1..2^53).
export const isId = (v: unknown) => isInt(v) && v >= 1;

// The details a Dealer or Broker writes (and a router here hands to its clients, or acts on),
// with the types they are written with. Another router's frame can carry anything in its
// details; these are checked so that no client is handed, say, receive_progress: {...} or
// retained: "yes". Other keys pass as they are. (Not an error's details: those are the
// callee's own.)
const DETAIL_TYPES = new Map<string, (v: unknown) => boolean>([
  ['progress', isBool],
  ['receive_progress', isBool],
  ['retained', isBool],
  ['timeout', (v) => isInt(v) && v >= 0],
  ['procedure', isStr],
  ['topic', isStr],
  ['caller', isId],
  ['caller_authid', isStr],
  ['caller_authrole', isStr],
  ['publisher', isId],
  ['publisher_authid', isStr],
  ['publisher_authrole', isStr],
  ['ppt_scheme', isStr],
  ['ppt_serializer', isStr],
  ['ppt_cipher', isStr],
  ['ppt_keyid', isStr],
]);
export const detailsOk = (d: Dict) => Object.keys(d).every((k) => DETAIL_TYPES.get(k)?.(d[k]) ?? true);
// A publication's filter, as the Broker reads it (lists of session IDs, authids, authroles):
// anything else made delivery throw.
export const filterOk = (f: unknown) =>
  f === undefined ||
  (isMap(f) &&
    Object.keys(f).every((k) => {
      const v = f[k];
      if (k === 'exclude' || k === 'eligible') return Array.isArray(v) && v.every(isInt);
      return !k.startsWith('exclude_') && !k.startsWith('eligible_') ? true : Array.isArray(v) && v.every(isStr);
    }));

// An origin-bound identity: [session, authid, authrole, disclosed].
export const whoOk = (v: unknown) =>
  v === undefined || (Array.isArray(v) && v.length === 4 && isInt(v[0]) && isStr(v[1]) && isStr(v[2]) && isBool(v[3]));

/** An ack's x lists copies complete out of order since the last one: more than a link holds in 10 ms is a broken peer. */
export const MAX_SELECTIVE = 1 << 20;

/** Events one seal covers at most (MAX_SEALED x 16 octets of digests). */
export const MAX_SEALED = 1024;
export const sealOk = (x: unknown) =>
  Array.isArray(x) &&
  x.length === 2 &&
  x[0] instanceof Uint8Array &&
  x[0].length === 16 &&
  x[1] instanceof Uint8Array &&
  x[1].length % 16 === 0 &&
  x[1].length <= MAX_SEALED * 16;
