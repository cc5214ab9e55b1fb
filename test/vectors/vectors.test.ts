// Golden vectors from the WAMP project's test suite (bytes mostly produced by Autobahn|Python):
// an outside reference for our serializers, parser and marshaller. Per sample and per format:
//   decode -> parseMessage -> compare with expected_attributes (mapping table below)
//   -> toArray -> encode -> decode -> parse: the same typed message (semantic round-trip),
//   and for MsgPack/CBOR the same wire *types* as the golden bytes (an integer must stay an
//   integer: Autobahn rejects a float where an ID belongs), byte equality counted.
// All three formats of one sample must parse to the same message (cross-format agreement).
// Validation samples (a raw `wmsg`) go through parseMessage and, for the messages a client
// sends to a router, through the real Router. The multi-session scenario runs on the Router
// with in-memory clients.
//
// The vectors are part of the repository (test/vectors/wamp/, origin and licence in its README).
// A missing folder is a failure, never a silent skip.

import test, { type ExecutionContext } from 'ava';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router } from '../../src/router/router.ts';
import { cbor, json, msgpack, type Serializer } from '../../src/serializers/index.ts';
import { toArray } from '../../src/wamp/marshal.ts';
import { MessageType, type Message } from '../../src/wamp/messages.ts';
import { parseMessage, ProtocolViolation } from '../../src/wamp/parse.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const VECTORS_DIR = resolve(repoRoot, 'test', 'vectors', 'wamp');
const FORMATS: readonly Serializer[] = [json, msgpack, cbor];

// Formats present in the vectors that wampmesh does not implement: the router offers neither on
// RawSocket nor on WebSocket, so there is nothing of ours to run these bytes through.
const UNSUPPORTED_FORMATS: Record<string, string> = {
  ubjson: 'wampmesh has no UBJSON serializer (not offered on any transport)',
  flatbuffers: 'wampmesh has no FlatBuffers serializer (not offered on any transport)',
};

// ---- vector file shapes (SCHEMA.json) -------------------------------------------------------

interface Representation {
  bytes?: string;
  bytes_hex?: string;
  bytes_base64?: string;
  note?: string;
}
interface SerializationSample {
  description: string;
  serializers: Record<string, Representation[]>;
  expected_attributes: Record<string, unknown> & { message_type: number };
}
interface ValidationSample {
  description: string;
  test_category?: string;
  wmsg: unknown[];
  expected_error?: { type?: string; contains?: string };
}
type Sample = SerializationSample | ValidationSample;
interface SingleMessageFile {
  description: string;
  wamp_message_type: string;
  wamp_message_code: number;
  feature?: string;
  samples: Sample[];
}
interface Step {
  step: number;
  description: string;
  from: string;
  to: string;
  message: Record<string, unknown> & { type: string };
  assertion?: string;
}
interface MultiSessionFile {
  description: string;
  feature: string;
  sessions: { session_id: string; roles?: string[]; realm?: string }[];
  sequence: Step[];
  expected_outcome?: Record<string, unknown>;
}

const isValidation = (s: Sample): s is ValidationSample => 'wmsg' in s;

function listJson(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listJson(p));
    else if (name.endsWith('.json')) out.push(p);
  }
  return out;
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

function repBytes(rep: Representation): Uint8Array {
  if (rep.bytes_hex !== undefined) return Buffer.from(rep.bytes_hex, 'hex');
  if (rep.bytes_base64 !== undefined) return Buffer.from(rep.bytes_base64, 'base64');
  if (rep.bytes !== undefined) return Buffer.from(rep.bytes, 'utf8');
  throw new Error('representation without bytes');
}

// ---- attribute mapping ----------------------------------------------------------------------

// Vector attribute name -> field of our typed message. 'details.roles' is a path into a dict.
// `payload` is not a field of ours: a non-null payload puts the sample outside our profile
// (see GENERIC_SAMPLES); a null payload means "none" and must leave args/kwargs absent.
// Every attribute a sample names must appear here, so none is ignored by accident.
const RID = { request_id: 'request' } as const;
const PAYLOAD = { args: 'args', kwargs: 'kwargs', payload: 'payload' } as const;
const MAPPING: Record<number, Record<string, string>> = {
  [MessageType.HELLO]: { realm: 'realm', roles: 'details.roles' },
  [MessageType.WELCOME]: { session_id: 'session', roles: 'details.roles' },
  [MessageType.ABORT]: { details: 'details', reason: 'reason' },
  [MessageType.CHALLENGE]: { method: 'authmethod', extra: 'extra' },
  [MessageType.AUTHENTICATE]: { signature: 'signature', extra: 'extra' },
  [MessageType.GOODBYE]: { details: 'details', reason: 'reason' },
  [MessageType.ERROR]: { request_type: 'requestType', ...RID, details: 'details', error: 'error', ...PAYLOAD },
  [MessageType.PUBLISH]: { ...RID, options: 'options', topic: 'topic', ...PAYLOAD },
  [MessageType.PUBLISHED]: { ...RID, publication_id: 'publication' },
  [MessageType.SUBSCRIBE]: { ...RID, options: 'options', topic: 'topic' },
  [MessageType.SUBSCRIBED]: { ...RID, subscription_id: 'subscription' },
  [MessageType.UNSUBSCRIBE]: { ...RID, subscription_id: 'subscription' },
  [MessageType.UNSUBSCRIBED]: { ...RID, details: 'details' },
  [MessageType.EVENT]: { subscription: 'subscription', publication: 'publication', details: 'details', ...PAYLOAD },
  [MessageType.CALL]: { ...RID, options: 'options', procedure: 'procedure', ...PAYLOAD },
  [MessageType.CANCEL]: { ...RID, options: 'options' },
  [MessageType.RESULT]: { ...RID, details: 'details', ...PAYLOAD },
  [MessageType.REGISTER]: { ...RID, options: 'options', procedure: 'procedure' },
  [MessageType.REGISTERED]: { ...RID, registration_id: 'registration' },
  [MessageType.UNREGISTER]: { ...RID, registration_id: 'registration' },
  [MessageType.UNREGISTERED]: { ...RID, details: 'details' },
  [MessageType.INVOCATION]: { ...RID, registration_id: 'registration', details: 'details', ...PAYLOAD },
  [MessageType.INTERRUPT]: { ...RID, options: 'options' },
  [MessageType.YIELD]: { ...RID, options: 'options', ...PAYLOAD },
};

// Messages outside our vocabulary, checked as plain arrays: attribute -> array index.
const GENERIC_LAYOUT: Record<number, Record<string, number>> = {
  337: { publication_id: 1 }, // EVENT_RECEIVED: [337, EVENT.Publication|id]
};

// Number of fixed fields after the type code, for messages that can carry a payload; the
// transparent payload sits where Arguments|list would.
const FIXED_FIELDS: Record<number, number> = {
  [MessageType.ERROR]: 4,
  [MessageType.PUBLISH]: 3,
  [MessageType.EVENT]: 3,
  [MessageType.CALL]: 3,
  [MessageType.RESULT]: 2,
  [MessageType.INVOCATION]: 3,
  [MessageType.YIELD]: 2,
};

const E2EE =
  'transparent payload (advanced profile: payload passthru / E2EE): a binary in the Arguments ' +
  'position. wampmesh neither implements nor announces it, so parseMessage must refuse the message; ' +
  'the other attributes and the payload bytes are checked on the decoded array.';
// Every sample that does not parse to one of our typed messages, and why. A sample that parses
// but is listed here, or fails to parse and is not, fails the test: the list cannot go stale.
const GENERIC_SAMPLES = new Map<string, string>([
  [
    'singlemessage/advanced/eventreceived.json#EVENT_RECEIVED acknowledgment',
    "EVENT_RECEIVED (advanced.pubsub.subscriber.event_ack, provisional code 337) is not in wampmesh's " +
      'vocabulary: parseMessage must refuse it as an unknown message type; the decoded array is checked.',
  ],
  ['singlemessage/basic/event.json#EVENT with transparent payload (encrypted E2E)', E2EE],
  ['singlemessage/basic/event.json#EVENT with both forward_for and E2EE (advanced R-Link + encryption)', E2EE],
  ['singlemessage/basic/publish.json#PUBLISH with transparent payload (encrypted E2E)', E2EE],
  ['singlemessage/basic/publish.json#PUBLISH with both forward_for and E2EE (advanced R-Link + encryption)', E2EE],
]);

/** A comparable form: binaries as hex, bigints as text, dict keys sorted. */
function normalize(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $bin: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') };
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, normalize((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

function getPath(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Checks a typed message (or, for generic samples, the raw array) against expected_attributes. */
function checkAttributes(
  t: ExecutionContext,
  where: string,
  expected: SerializationSample['expected_attributes'],
  decoded: unknown[],
  typed: Message | null,
): void {
  const code = expected.message_type;
  t.is(decoded[0], code, `${where}: message type`);
  if (typed === null && GENERIC_LAYOUT[code] !== undefined) {
    const layout = GENERIC_LAYOUT[code];
    for (const [attr, value] of Object.entries(expected)) {
      if (attr === 'message_type') continue;
      const index = layout[attr];
      if (index === undefined) {
        t.fail(`${where}: attribute '${attr}' has no mapping for generic message ${code}`);
        continue;
      }
      t.deepEqual(normalize(decoded[index]), normalize(value), `${where}: ${attr}`);
    }
    return;
  }
  const mapping = MAPPING[code];
  if (mapping === undefined) {
    t.fail(`${where}: no mapping table for message type ${code}`);
    return;
  }
  const payload = expected.payload;
  const hasPayload = payload !== undefined && payload !== null;
  // For a payload sample, our typed view is of the array with the payload taken out.
  const record = (typed ?? {}) as unknown as Record<string, unknown>;
  for (const [attr, value] of Object.entries(expected)) {
    if (attr === 'message_type') continue;
    const field: string | undefined = mapping[attr];
    if (field === undefined) {
      t.fail(`${where}: attribute '${attr}' is not in the mapping table for ${code}`);
      continue;
    }
    if (attr === 'payload') {
      if (!hasPayload) continue;
      const at = (FIXED_FIELDS[code] ?? 0) + 1;
      t.is(decoded.length, at + 1, `${where}: a transparent payload is the last element`);
      t.true(decoded[at] instanceof Uint8Array, `${where}: payload is binary`);
      t.deepEqual(normalize(decoded[at]), { $bin: String(payload).toLowerCase() }, `${where}: payload bytes`);
      continue;
    }
    // null = absent: our messages omit empty Arguments/ArgumentsKw instead of carrying null.
    const actual = getPath(record, field);
    if (value === null) t.is(actual, undefined, `${where}: ${attr} (null) is absent`);
    else t.deepEqual(normalize(actual), normalize(value), `${where}: ${attr} -> ${field}`);
  }
}

// ---- wire-type shape of MsgPack and CBOR ----------------------------------------------------
// JS numbers cannot tell 5 from 5.0, so "decodes to the same value" would accept an encoder that
// writes integers as floats. This walker reads the bytes themselves: ints (any width) are 'int',
// floats (any width) are 'float', and so on, so golden and re-encoded bytes can be compared by
// type without caring about integer width or map key order.

type Shape = string | Shape[] | { map: [string, Shape][] };

class Reader {
  readonly b: Uint8Array;
  off = 0;
  constructor(b: Uint8Array) {
    this.b = b;
  }
  u8(): number {
    if (this.off >= this.b.length) throw new Error('truncated');
    return this.b[this.off++]!;
  }
  uint(n: number): bigint {
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(this.u8());
    return v;
  }
  bytes(n: number): Uint8Array {
    if (this.off + n > this.b.length) throw new Error('truncated');
    const out = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const mapShape = (entries: [string, Shape][]): Shape => ({
  map: entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
});

function msgpackShape(r: Reader): Shape {
  const t = r.u8();
  const arr = (n: number): Shape => Array.from({ length: n }, () => msgpackShape(r));
  const map = (n: number): Shape =>
    mapShape(Array.from({ length: n }, () => [JSON.stringify(msgpackShape(r)), msgpackShape(r)] as [string, Shape]));
  const str = (n: number): Shape => `str:${Buffer.from(r.bytes(n)).toString('utf8')}`;
  if (t <= 0x7f) return `int:${t}`;
  if (t >= 0xe0) return `int:${t - 256}`;
  if (t >= 0x80 && t <= 0x8f) return map(t & 0x0f);
  if (t >= 0x90 && t <= 0x9f) return arr(t & 0x0f);
  if (t >= 0xa0 && t <= 0xbf) return str(t & 0x1f);
  switch (t) {
    case 0xc0:
      return 'nil';
    case 0xc2:
      return 'false';
    case 0xc3:
      return 'true';
    case 0xc4:
      return `bin:${hex(r.bytes(Number(r.uint(1))))}`;
    case 0xc5:
      return `bin:${hex(r.bytes(Number(r.uint(2))))}`;
    case 0xc6:
      return `bin:${hex(r.bytes(Number(r.uint(4))))}`;
    case 0xca:
      return `float:${Buffer.from(r.bytes(4)).readFloatBE(0)}`;
    case 0xcb:
      return `float:${Buffer.from(r.bytes(8)).readDoubleBE(0)}`;
    case 0xcc:
      return `int:${r.uint(1)}`;
    case 0xcd:
      return `int:${r.uint(2)}`;
    case 0xce:
      return `int:${r.uint(4)}`;
    case 0xcf:
      return `int:${r.uint(8)}`;
    case 0xd0:
      return `int:${BigInt.asIntN(8, r.uint(1))}`;
    case 0xd1:
      return `int:${BigInt.asIntN(16, r.uint(2))}`;
    case 0xd2:
      return `int:${BigInt.asIntN(32, r.uint(4))}`;
    case 0xd3:
      return `int:${BigInt.asIntN(64, r.uint(8))}`;
    case 0xd9:
      return str(Number(r.uint(1)));
    case 0xda:
      return str(Number(r.uint(2)));
    case 0xdb:
      return str(Number(r.uint(4)));
    case 0xdc:
      return arr(Number(r.uint(2)));
    case 0xdd:
      return arr(Number(r.uint(4)));
    case 0xde:
      return map(Number(r.uint(2)));
    case 0xdf:
      return map(Number(r.uint(4)));
    default:
      throw new Error(`msgpack type 0x${t.toString(16)} not expected in WAMP vectors`);
  }
}

function cborShape(r: Reader): Shape {
  const first = r.u8();
  const major = first >> 5;
  const info = first & 0x1f;
  const arg = (): bigint | null => {
    if (info < 24) return BigInt(info);
    if (info >= 24 && info <= 27) return r.uint(2 ** (info - 24));
    if (info === 31) return null; // indefinite length
    throw new Error(`cbor additional info ${info}`);
  };
  const isBreak = (): boolean => {
    if (r.b[r.off] !== 0xff) return false;
    r.off++;
    return true;
  };
  switch (major) {
    case 0:
      return `int:${arg()}`;
    case 1:
      return `int:${-1n - (arg() ?? 0n)}`;
    case 2:
    case 3: {
      const n = arg();
      let bytes: Uint8Array;
      if (n === null) {
        // Indefinite length: definite-length chunks of the same major type until a break.
        const parts: Uint8Array[] = [];
        while (!isBreak()) {
          const info2 = r.u8() & 0x1f;
          parts.push(r.bytes(info2 < 24 ? info2 : Number(r.uint(2 ** (info2 - 24)))));
        }
        bytes = Buffer.concat(parts);
      } else bytes = r.bytes(Number(n));
      return major === 2 ? `bin:${hex(bytes)}` : `str:${Buffer.from(bytes).toString('utf8')}`;
    }
    case 4: {
      const n = arg();
      const out: Shape[] = [];
      if (n === null) while (!isBreak()) out.push(cborShape(r));
      else for (let i = 0n; i < n; i++) out.push(cborShape(r));
      return out;
    }
    case 5: {
      const n = arg();
      const entries: [string, Shape][] = [];
      const entry = (): void => {
        entries.push([JSON.stringify(cborShape(r)), cborShape(r)]);
      };
      if (n === null) while (!isBreak()) entry();
      else for (let i = 0n; i < n; i++) entry();
      return mapShape(entries);
    }
    case 6:
      return [`tag:${arg()}`, cborShape(r)];
    default:
      if (info === 20) return 'false';
      if (info === 21) return 'true';
      if (info === 22) return 'nil';
      if (info === 23) return 'undefined';
      if (info === 25) {
        const b = r.bytes(2);
        return `float16:${hex(b)}`;
      }
      if (info === 26) return `float:${Buffer.from(r.bytes(4)).readFloatBE(0)}`;
      if (info === 27) return `float:${Buffer.from(r.bytes(8)).readDoubleBE(0)}`;
      throw new Error(`cbor simple value ${info}`);
  }
}

function wireShape(format: Serializer, bytes: Uint8Array): Shape | undefined {
  const r = new Reader(bytes);
  if (format === msgpack) return msgpackShape(r);
  if (format === cbor) return cborShape(r);
  return undefined; // JSON has one number type on the wire as JS reads it
}

// ---- loading ---------------------------------------------------------------------------------

interface Stats {
  checked: Record<string, number>;
  byteEqual: Record<string, number>;
  unsupported: Record<string, number>;
}
const stats: Stats = { checked: {}, byteEqual: {}, unsupported: {} };

function registerSerializationSample(rel: string, file: SingleMessageFile, sample: SerializationSample): void {
  const key = `${rel}#${sample.description}`;
  const genericReason = GENERIC_SAMPLES.get(key);
  test(`${rel}: ${sample.description}`, (t) => {
    const expected = sample.expected_attributes;
    t.is(expected.message_type, file.wamp_message_code, 'sample type matches its file');
    for (const [name, reps] of Object.entries(sample.serializers)) {
      if (UNSUPPORTED_FORMATS[name] !== undefined)
        stats.unsupported[name] = (stats.unsupported[name] ?? 0) + reps.length;
      else if (!FORMATS.some((f) => f.name === name))
        t.fail(`serializer '${name}' in the vectors is neither checked nor listed as unsupported`);
    }
    const canonical: { where: string; form: unknown }[] = [];
    for (const format of FORMATS) {
      const reps = sample.serializers[format.name];
      if (reps === undefined || reps.length === 0) {
        t.fail(`no ${format.name} bytes in this sample`);
        continue;
      }
      reps.forEach((rep, i) => {
        const where = `${format.name}[${i}]${rep.note ? ` (${rep.note})` : ''}`;
        const bytes = repBytes(rep);
        // The file's own consistency: text and hex of one representation must agree.
        if (rep.bytes !== undefined && rep.bytes_hex !== undefined) {
          t.is(
            Buffer.from(rep.bytes, 'utf8').toString('hex'),
            rep.bytes_hex.toLowerCase(),
            `${where}: bytes and bytes_hex agree`,
          );
        }
        const decoded = format.decode(bytes);
        if (!Array.isArray(decoded)) {
          t.fail(`${where}: decoded to a non-list`);
          return;
        }
        const parsed = parseMessage(decoded);
        let typed: Message | null;
        if (parsed instanceof ProtocolViolation) {
          if (genericReason === undefined) {
            t.fail(`${where}: parseMessage refused an in-profile sample: ${parsed.message}`);
            return;
          }
          typed = null;
          // A payload sample: the rest of the message must still be a valid typed message.
          const payloadAt = (FIXED_FIELDS[expected.message_type] ?? -1) + 1;
          if (payloadAt > 0 && decoded.length === payloadAt + 1) {
            const without = parseMessage(decoded.slice(0, payloadAt));
            if (without instanceof ProtocolViolation)
              t.fail(`${where}: without its payload the message is still refused: ${without.message}`);
            else typed = without;
          }
        } else {
          if (genericReason !== undefined)
            t.fail(
              `${where}: listed as outside our profile but parsed as ${JSON.stringify(parsed)}; update GENERIC_SAMPLES`,
            );
          typed = parsed;
        }
        checkAttributes(t, where, expected, decoded, typed);

        // Re-encode: typed messages through toArray, generic ones as the array they are.
        const wire = parsed instanceof ProtocolViolation ? decoded : toArray(parsed);
        const again = format.encode(wire);
        const redecoded = format.decode(again);
        t.deepEqual(normalize(redecoded), normalize(wire), `${where}: semantic round-trip of the wire array`);
        if (!(parsed instanceof ProtocolViolation)) {
          const reparsed = parseMessage(redecoded);
          t.deepEqual(normalize(reparsed), normalize(parsed), `${where}: round-trip parses to the same typed message`);
        }
        const golden = wireShape(format, bytes);
        if (golden !== undefined) {
          t.deepEqual(
            wireShape(format, again),
            golden,
            `${where}: re-encoding has the golden bytes' wire types (ours ${hex(again)} vs golden ${hex(bytes)})`,
          );
        }
        // Byte equality is not required (whitespace in JSON, map key order, integer widths may
        // differ between encoders), only counted.
        stats.checked[format.name] = (stats.checked[format.name] ?? 0) + 1;
        if (Buffer.compare(Buffer.from(again), Buffer.from(bytes)) === 0)
          stats.byteEqual[format.name] = (stats.byteEqual[format.name] ?? 0) + 1;
        canonical.push({ where, form: normalize(typed === null ? decoded : typed) });
      });
    }
    // Cross-format agreement: every format and representation parses to the same message.
    const [first, ...rest] = canonical;
    for (const other of rest) t.deepEqual(other.form, first!.form, `${other.where} agrees with ${first!.where}`);
    if (genericReason !== undefined) t.log(`outside profile: ${genericReason}`);
  });
}

// Which announced feature makes the router responsible for an option. The router is held to
// the vectors' rejection rules exactly for the options of features its WELCOME announces (and
// the basic profile's); options of features it does not announce may be ignored (spec: a
// client must not use an unannounced feature). An option missing here fails the test, so a
// new vector cannot slip through unclassified.
const BASIC = 'basic profile';
const OPTION_FEATURE: Record<string, string> = {
  acknowledge: BASIC,
  exclude_me: 'publisher_exclusion',
  disclose_me: 'publisher_identification',
  exclude: 'subscriber_blackwhite_listing',
  exclude_authid: 'subscriber_blackwhite_listing',
  exclude_authrole: 'subscriber_blackwhite_listing',
  eligible: 'subscriber_blackwhite_listing',
  eligible_authid: 'subscriber_blackwhite_listing',
  eligible_authrole: 'subscriber_blackwhite_listing',
  retain: 'event_retention',
  get_retained: 'event_retention',
  match: 'pattern_based_subscription',
  // Router-to-router links and the transaction hash have no WAMP feature flag yet; wampmesh
  // implements neither, so these names are never announced.
  forward_for: 'router_link (not a WAMP feature flag)',
  transaction_hash: 'transaction_hash (not a WAMP feature flag)',
  enc_algo: 'payload_passthru_mode (E2EE enc_* form)',
  enc_serializer: 'payload_passthru_mode (E2EE enc_* form)',
};

function announcedBrokerFeatures(): Set<string> {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const client = new MemoryClient(router);
  client.send([1, 'realm1', { roles: { subscriber: {} } }]);
  const welcome = client.take().find((m) => m[0] === MessageType.WELCOME);
  const details = (welcome?.[2] ?? {}) as { roles?: { broker?: { features?: Record<string, unknown> } } };
  const features = details.roles?.broker?.features ?? {};
  return new Set(Object.keys(features).filter((k) => features[k] === true));
}

interface Trio {
  publisher: MemoryClient;
  subscriber: MemoryClient;
}

/** A publisher/caller session, and a subscriber on com.example.topic that sees what gets out. */
function sessions(format: Serializer): Trio {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const publisher = new MemoryClient(router, format);
  const subscriber = new MemoryClient(router, format);
  publisher.join();
  subscriber.join();
  subscriber.send([32, 1, {}, 'com.example.topic']);
  subscriber.take();
  return { publisher, subscriber };
}

/** The session is still usable: a SUBSCRIBE round-trip answers, in order, after everything else. */
function stillServes(client: MemoryClient): boolean {
  client.send([32, 987_654, {}, 'vectors.probe']);
  return client.take().some((m) => m[0] === 33 && m[1] === 987_654);
}

function registerValidationSample(rel: string, file: SingleMessageFile, sample: ValidationSample): void {
  const code = file.wamp_message_code;
  const optionName = /\.(?:Options|Details)\.([a-z_]+)/.exec(sample.description)?.[1];
  const mustReject = sample.expected_error !== undefined;
  // The E2EE payload samples carry the payload as a string where Arguments|list belongs.
  const payloadSample = sample.wmsg.length === (FIXED_FIELDS[code] ?? -99) + 2 && !Array.isArray(sample.wmsg.at(-1));
  test(`${rel} [validation]: ${sample.description}`, (t) => {
    t.is(sample.wmsg[0], code, 'sample type matches its file');
    const parsed = parseMessage(sample.wmsg);
    if (payloadSample) {
      t.true(
        parsed instanceof ProtocolViolation,
        'transparent payloads are outside our profile and refused by parseMessage',
      );
      t.log(`outside profile: ${E2EE}`);
    } else if (!mustReject) {
      // Valid per the vectors: it parses, and marshals back to exactly the same array.
      if (parsed instanceof ProtocolViolation) {
        t.fail(`valid sample refused: ${parsed.message}`);
        return;
      }
      t.deepEqual(normalize(toArray(parsed)), normalize(sample.wmsg));
    } else {
      // parseMessage checks structure only; option semantics belong to the Broker/Dealer,
      // which the router-level check below exercises.
      t.notThrows(() => parseMessage(sample.wmsg));
    }

    if (optionName === undefined) {
      t.fail(`cannot tell which option '${sample.description}' is about`);
      return;
    }
    // EVENT.Details rules bind clients; a router only ever has to refuse an EVENT from a client.
    const feature = code === MessageType.EVENT ? 'router-to-client only' : OPTION_FEATURE[optionName];
    if (feature === undefined) {
      t.fail(`option '${optionName}' is not classified in OPTION_FEATURE`);
      return;
    }
    const responsible = feature === BASIC || announcedBrokerFeatures().has(feature);

    // The router's view, in every format.
    for (const format of FORMATS) {
      const { publisher, subscriber } = sessions(format);
      publisher.send(sample.wmsg);
      const replies = publisher.take();
      const abort = replies.find((m) => m[0] === MessageType.ABORT);
      const where = `${format.name}: ${JSON.stringify(sample.wmsg)}`;
      if (code === MessageType.EVENT) {
        // EVENT only ever goes router -> client: from a client it is a protocol violation.
        t.is(abort?.[2], 'wamp.error.protocol_violation', `${where}: EVENT from a client is refused`);
        continue;
      }
      if (payloadSample) {
        t.is(abort?.[2], 'wamp.error.protocol_violation', `${where}: payload in the Arguments position is refused`);
        continue;
      }
      const request = sample.wmsg[1];
      const error = replies.find((m) => m[0] === MessageType.ERROR && m[1] === code && m[2] === request);
      const delivered = subscriber.take().some((m) => m[0] === MessageType.EVENT);

      if (!mustReject) {
        t.is(abort, undefined, `${where}: valid, must not ABORT; got ${JSON.stringify(replies)}`);
        if (code === MessageType.SUBSCRIBE && responsible) {
          t.true(
            replies.some((m) => m[0] === MessageType.SUBSCRIBED && m[1] === request),
            `${where}: SUBSCRIBED; got ${JSON.stringify(replies)}`,
          );
        }
        if (code === MessageType.PUBLISH) {
          // Acknowledged, a valid publication is confirmed.
          const acked = [...sample.wmsg] as [number, number, Record<string, unknown>, ...unknown[]];
          acked[1] = 4242;
          acked[2] = { ...acked[2], acknowledge: true };
          publisher.send(acked);
          const ackReplies = publisher.take();
          t.true(
            ackReplies.some((m) => m[0] === MessageType.PUBLISHED && m[1] === 4242),
            `${where}: acknowledged, it is PUBLISHED; got ${JSON.stringify(ackReplies)}`,
          );
        }
        t.true(stillServes(publisher), `${where}: session still serves`);
        continue;
      }

      if (!responsible) {
        t.is(abort, undefined, `${where}: no ABORT; got ${JSON.stringify(replies)}`);
        t.true(stillServes(publisher), `${where}: session still serves`);
        t.log(
          `outside profile: option '${optionName}' belongs to '${feature}', which the router does not announce; ignored`,
        );
        continue;
      }

      // Must be refused. A PUBLISH without acknowledge hears of no failure (spec, and what
      // Crossbar/Autobahn do), so "refused" there means: nothing was published.
      const contains = sample.expected_error?.contains ?? optionName;
      if (code === MessageType.PUBLISH) {
        t.false(delivered, `${where}: must be refused, but the subscriber received the EVENT`);
        t.false(
          replies.some((m) => m[0] === MessageType.PUBLISHED),
          `${where}: must not be PUBLISHED`,
        );
        if (optionName !== 'acknowledge' && abort === undefined) {
          // Asked for an acknowledgement, the publisher must be told why.
          const acked = [...sample.wmsg] as [number, number, Record<string, unknown>, ...unknown[]];
          acked[1] = 4242;
          acked[2] = { ...acked[2], acknowledge: true };
          publisher.send(acked);
          const ackReplies = publisher.take();
          const ackError = ackReplies.find((m) => m[0] === MessageType.ERROR && m[1] === code && m[2] === 4242);
          const ackAbort = ackReplies.find((m) => m[0] === MessageType.ABORT);
          t.true(
            ackError !== undefined || ackAbort?.[2] === 'wamp.error.protocol_violation',
            `${where} + acknowledge: ERROR or ABORT; got ${JSON.stringify(ackReplies)}`,
          );
          const text = JSON.stringify(ackError?.slice(4) ?? ackAbort?.[1] ?? '');
          t.true(text.includes(contains), `${where} + acknowledge: the refusal names '${contains}': ${text}`);
        }
      } else {
        t.true(
          abort?.[2] === 'wamp.error.protocol_violation' || error !== undefined,
          `${where}: must be refused (ABORT protocol_violation or ERROR); router replied ${JSON.stringify(replies)}`,
        );
        const text = JSON.stringify(error?.slice(4) ?? abort?.[1] ?? '');
        t.true(text.includes(contains), `${where}: the refusal names '${contains}': ${text}`);
      }
    }
  });
}

// ---- the multi-session scenario ------------------------------------------------------------

const TYPE_CODES: Record<string, number> = MessageType;
// Wire layout per message type, as vector field names (the scenario's message objects).
const WIRE_FIELDS: Record<string, readonly string[]> = {
  SUBSCRIBE: ['request_id', 'options', 'topic'],
  SUBSCRIBED: ['request_id', 'subscription_id'],
  UNSUBSCRIBE: ['request_id', 'subscription_id'],
  UNSUBSCRIBED: ['request_id'],
  PUBLISH: ['request_id', 'options', 'topic', 'args', 'kwargs'],
  PUBLISHED: ['request_id', 'publication_id'],
  EVENT: ['subscription_id', 'publication_id', 'details', 'args', 'kwargs'],
  REGISTER: ['request_id', 'options', 'procedure'],
  REGISTERED: ['request_id', 'registration_id'],
  CALL: ['request_id', 'options', 'procedure', 'args', 'kwargs'],
  INVOCATION: ['request_id', 'registration_id', 'details', 'args', 'kwargs'],
  YIELD: ['request_id', 'options', 'args', 'kwargs'],
  RESULT: ['request_id', 'details', 'args', 'kwargs'],
};
// IDs the router chooses: the scenario's values are placeholders, bound on first sight.
const ROUTER_IDS = new Set(['subscription_id', 'publication_id', 'registration_id']);

function scenarioArray(message: Step['message']): unknown[] {
  const fields = WIRE_FIELDS[message.type];
  const code = TYPE_CODES[message.type];
  if (fields === undefined || code === undefined)
    throw new Error(`scenario message type ${message.type} has no wire layout here`);
  const out: unknown[] = [code];
  for (const f of fields) {
    if (message[f] === undefined) break; // trailing optional fields (args, kwargs)
    out.push(message[f]);
  }
  return out;
}

function registerMultiSession(rel: string, scenario: MultiSessionFile): void {
  for (const format of FORMATS) {
    test(`${rel} (${format.name}): ${scenario.description}`, (t) => {
      const realms = [...new Set(scenario.sessions.map((s) => s.realm ?? 'realm1'))];
      const router = new Router({ realms: realms.map((uri) => ({ uri, anonymous: true })) });
      const clients = new Map<string, MemoryClient>();
      for (const s of scenario.sessions) {
        const realm = s.realm ?? 'realm1';
        const client = new MemoryClient(router, format);
        client.join(realm, { roles: Object.fromEntries((s.roles ?? []).map((r) => [r, {}])) });
        clients.set(s.session_id, client);
      }
      const bound = new Map<string, unknown>(); // "subscription_id=456" -> the router's ID
      const events = new Map<string, number>();
      for (const step of [...scenario.sequence].sort((a, b) => a.step - b.step)) {
        const where = `step ${step.step} (${step.description})`;
        if (step.to === 'router') {
          const client = clients.get(step.from);
          if (client === undefined) {
            t.fail(`${where}: unknown session ${step.from}`);
            return;
          }
          client.send(scenarioArray(step.message));
          continue;
        }
        const client = clients.get(step.to);
        if (client === undefined) {
          t.fail(`${where}: unknown session ${step.to}`);
          return;
        }
        const expected = scenarioArray(step.message);
        const got = client.received.shift();
        if (got === undefined) {
          t.fail(`${where}: ${step.to} received nothing; expected ${JSON.stringify(expected)}`);
          return;
        }
        if (got[0] === MessageType.EVENT) events.set(step.to, (events.get(step.to) ?? 0) + 1);
        t.is(got[0], expected[0], `${where}: message type`);
        const fields = WIRE_FIELDS[step.message.type] ?? [];
        fields.forEach((f, i) => {
          const value = step.message[f];
          if (value === undefined) return;
          const actual = got[i + 1];
          if (ROUTER_IDS.has(f)) {
            const key = `${f}=${JSON.stringify(value)}`;
            if (!bound.has(key)) bound.set(key, actual);
            t.true(
              Number.isInteger(actual) && (actual as number) >= 1 && (actual as number) <= 2 ** 53,
              `${where}: ${f} is a valid ID`,
            );
            t.is(actual, bound.get(key), `${where}: ${f} is the one the router assigned earlier`);
          } else {
            t.deepEqual(normalize(actual), normalize(value), `${where}: ${f}`);
          }
        });
        if (step.assertion) t.log(`${where}: ${step.assertion}`);
      }
      for (const [id, client] of clients) t.deepEqual(client.take(), [], `${id} received nothing beyond the scenario`);
      const outcome = scenario.expected_outcome ?? {};
      if (typeof outcome.event_count === 'number') {
        t.is(
          [...events.values()].reduce((a, b) => a + b, 0),
          outcome.event_count,
          'expected_outcome.event_count',
        );
      }
      if (Array.isArray(outcome.event_recipients)) {
        t.deepEqual(
          [...events.keys()].sort(),
          [...(outcome.event_recipients as string[])].sort(),
          'expected_outcome.event_recipients',
        );
      }
    });
  }
}

// ---- the router's own output, by wire type ----------------------------------------------------
// The golden samples show how Autobahn encodes IDs: as integers of whatever width. The router's
// session and publication IDs are random in [1, 2^53], so nearly all exceed 2^32; if those
// leave as floats, typed clients (Autobahn|Python: "invalid type <class 'float'> for ID")
// cannot even complete the handshake.

for (const format of [msgpack, cbor]) {
  test(`router-chosen IDs go out as ${format.name} integers, never floats`, (t) => {
    const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
    const frames: Uint8Array[] = [];
    const handler = router.attach({
      serializer: format,
      info: { type: 'memory', peer: 'vectors', local: true },
      send: (frame) => {
        frames.push(frame);
      },
      bufferedAmount: () => 0,
      close: () => undefined,
    });
    handler.receive(format.encode([1, 'realm1', { roles: { publisher: {}, subscriber: {} } }]));
    handler.receive(format.encode([32, 1, {}, 'vectors.ids']));
    handler.receive(format.encode([16, 2, { acknowledge: true, exclude_me: false }, 'vectors.ids', [1]]));
    const shapes = frames.map((f) => wireShape(format, f));
    t.is(shapes.length, 4, 'WELCOME, SUBSCRIBED, EVENT, PUBLISHED');
    const floats = JSON.stringify(shapes).match(/"float[^"]*"/g) ?? [];
    t.deepEqual(floats, [], `router frames: ${frames.map(hex).join(' ')}`);
  });
}

// ---- registration ---------------------------------------------------------------------------

if (!existsSync(VECTORS_DIR)) {
  test('WAMP test vectors are present', (t) => {
    t.fail(`WAMP vectors not found at ${VECTORS_DIR}`);
  });
} else {
  const singleFiles = listJson(join(VECTORS_DIR, 'singlemessage'));
  const multiFiles = existsSync(join(VECTORS_DIR, 'multisession')) ? listJson(join(VECTORS_DIR, 'multisession')) : [];
  let serializationSamples = 0;
  let validationSamples = 0;
  for (const path of singleFiles) {
    const rel = relative(VECTORS_DIR, path);
    const file = readJson(path) as SingleMessageFile;
    for (const sample of file.samples) {
      if (isValidation(sample)) {
        validationSamples++;
        registerValidationSample(rel, file, sample);
      } else {
        serializationSamples++;
        registerSerializationSample(rel, file, sample);
      }
    }
  }
  for (const path of multiFiles) registerMultiSession(relative(VECTORS_DIR, path), readJson(path) as MultiSessionFile);

  test('the vector set is complete, and every listed exception is used', (t) => {
    // Guards against a truncated checkout passing with little checked.
    t.true(singleFiles.length >= 26, `found ${singleFiles.length} single-message files`);
    t.true(multiFiles.length >= 1, `found ${multiFiles.length} multi-session files`);
    const keys = new Set<string>();
    for (const path of singleFiles) {
      const file = readJson(path) as SingleMessageFile;
      for (const s of file.samples) keys.add(`${relative(VECTORS_DIR, path)}#${s.description}`);
    }
    for (const key of GENERIC_SAMPLES.keys())
      t.true(keys.has(key), `GENERIC_SAMPLES names a sample that no longer exists: ${key}`);
    t.log(
      `${singleFiles.length} files, ${serializationSamples} serialization samples, ${validationSamples} validation samples, ${multiFiles.length} scenario(s)`,
    );
  });

  // Serial and last: by then every serialization test above has run and filled `stats`.
  test.serial.after.always('byte-exact re-encodings (report)', () => {
    const unsupported = Object.entries(stats.unsupported)
      .map(([k, n]) => `${k}: ${n} (${UNSUPPORTED_FORMATS[k]})`)
      .join('; ');
    const perFormat = FORMATS.map(
      (f) => `${f.name} ${stats.byteEqual[f.name] ?? 0}/${stats.checked[f.name] ?? 0}`,
    ).join(', ');
    console.log(`[vectors] golden encodings re-encoded byte-identically: ${perFormat}. Not checked: ${unsupported}`);
  });
}
