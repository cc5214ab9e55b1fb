// A call's frames written (links/routed-writer.ts) and read whole on the node they are for
// (links/routed-reader.ts) without the general CBOR codec: checked against it on many frames,
// valid and not, made from a seeded random generator. The writer must write the octets
// cbor.encode() writes (or leave the frame to it); the reader must answer what decodePassed()
// answers (the frame, or the same reason), or leave the frame to it.

import test from 'ava';
import { decodeEnvelope, encodeFrame, joinEnvelope } from '../../src/mesh/links/envelope.ts';
import { EMBEDDING, embedHead } from '../../src/mesh/links/embedded.ts';
import { writeRouted } from '../../src/mesh/links/routed-writer.ts';
import { decodePassed, PassedFrame, type OutgoingFrame, type ResultFrame } from '../../src/mesh/routing/frames.ts';
import { RawPayload } from '../../src/wamp/raw-payload.ts';
import { cbor } from '../../src/serializers/index.ts';
import { canon } from '../helpers/canon.ts';
import { numberedMap } from '../helpers/mesh-frames.ts';
import { seededRandom } from '../mesh/sim.ts';

const random = seededRandom(20);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const maybe = (p = 0.5) => random() < p;

const TEXTS = [
  'A',
  'D',
  'nöde-1',
  'ノード',
  'realm1',
  'com.example.echo',
  'x'.repeat(40),
  'y'.repeat(70),
  '\ud800',
  '',
];
const INTS = [
  0,
  1,
  23,
  24,
  255,
  256,
  65535,
  65536,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 40,
  2 ** 53 - 1,
  2 ** 53,
  -1,
  -24,
  -25,
  -(2 ** 31),
  -(2 ** 31) - 1,
  -(2 ** 40),
];
const ODD = [1.5, -0, null, undefined, true, [], {}, 'text', new Uint8Array([1, 2]), 2n ** 60n];

function payloadValue(depth = 0): unknown {
  switch (Math.floor(random() * 7)) {
    case 0:
      return pick(TEXTS);
    case 1:
      return pick(INTS);
    case 2:
      return pick(ODD);
    case 3:
      return depth > 2 ? 1 : Array.from({ length: Math.floor(random() * 3) }, () => payloadValue(depth + 1));
    case 4:
      return depth > 2
        ? {}
        : Object.fromEntries(
            Array.from({ length: Math.floor(random() * 3) }, (_, i) => [`k${i}`, payloadValue(depth + 1)]),
          );
    case 5:
      return new Uint8Array(Math.floor(random() * 20)).fill(0x1b);
    default:
      return maybe() ? { caller: pick(INTS), caller_authid: pick(TEXTS), progress: maybe() } : { procedure: 5 };
  }
}

/** A frame of a call, mostly well formed, sometimes with a field of the wrong kind, missing or extra. */
function randomFrame(): Record<string, unknown> {
  const t = pick(['call', 'chunk', 'cancel', 'result', 'error']);
  const f: Record<string, unknown> = {
    t,
    origin: pick(TEXTS),
    dst: pick(['A', 'D', 'nöde-1']),
    id: pick(INTS),
    realm: pick(TEXTS),
  };
  if (t === 'call') {
    Object.assign(f, {
      procedure: pick(TEXTS),
      match: pick(['exact', 'prefix', 'wildcard', 'other']),
      session: pick(INTS),
    });
    f.details = maybe(0.6) ? {} : payloadValue();
    if (maybe()) f.who = maybe(0.8) ? [pick(INTS), pick(TEXTS), pick(TEXTS), maybe()] : payloadValue();
    if (maybe()) f.mac = maybe(0.8) ? new Uint8Array(16).map(() => Math.floor(random() * 256)) : payloadValue();
  }
  if (t === 'chunk' || t === 'result') f.progress = maybe(0.9) ? maybe() : payloadValue();
  if (t === 'cancel') f.mode = maybe(0.9) ? pick(['kill', 'killnowait', 'skip']) : payloadValue();
  if (t === 'error') f.error = maybe(0.9) ? 'wamp.error.x' : payloadValue();
  if (t === 'result' || t === 'error') f.details = maybe(0.6) ? {} : payloadValue();
  if (maybe(0.7)) f.args = maybe(0.8) ? [payloadValue(), payloadValue()] : payloadValue();
  if (maybe(0.3)) f.kwargs = maybe(0.8) ? { a: payloadValue() } : payloadValue();
  if (maybe(0.05)) f.extra = payloadValue();
  if (maybe(0.05)) delete f[pick(Object.keys(f))];
  return f;
}

test('frames made here are written as cbor.encode() writes them', (t) => {
  let written = 0;
  for (let i = 0; i < 5000; i++) {
    const frame = randomFrame();
    let expected: Buffer;
    try {
      expected = Buffer.from(cbor.encode([frame]).subarray(1));
    } catch {
      continue; // nothing either could send
    }
    const mine = writeRouted(frame as unknown as OutgoingFrame);
    if (mine === undefined) continue;
    written++;
    if (!Buffer.from(mine).equals(expected)) return t.fail(`frame ${JSON.stringify(canon(frame))}`);
    // On the wire, embedded: tag 24 on a byte string holding the map, its keys numbered (shortest heads).
    t.deepEqual(Buffer.from(encodeFrame(frame as unknown as OutgoingFrame)), embedded(frame));
  }
  t.true(written > 4000, `${written} written here`);
});

/** A result frame from D to A with one text argument. */
const resultFrame = (id: number, arg: string) => ({
  t: 'result',
  origin: 'A',
  dst: 'D',
  id,
  realm: 'realm1',
  progress: false,
  details: {},
  args: [arg],
});

/** The octets of a frame as the routers send it embedded: tag 24 on a byte string holding its map, its keys numbered. */
const embedded = (frame: Record<string, unknown>) =>
  Buffer.concat([Buffer.of(0xd8, 0x18), Buffer.from(cbor.encode(numberedMap(frame) as never))]);

test('frames written earlier stay as written while later ones are: small, large (past a slab) and refused ones', (t) => {
  const written: [Uint8Array, Buffer][] = [];
  for (let i = 0; i < 3000; i++) {
    const size = i % 97 === 0 ? 20_000 + i : i % 13;
    const frame = resultFrame(i, 'y'.repeat(size));
    // Now and then one the writer leaves to the general encoder, after it has begun writing.
    if (i % 7 === 0) writeRouted({ ...frame, args: [2 ** 60] } as unknown as OutgoingFrame, i % 2 === 0);
    // Bare and embedded in turn (the heads of the latter written once the map's length is known).
    const expected = Buffer.from(cbor.encode([frame]).subarray(1));
    const item = writeRouted(frame as unknown as OutgoingFrame, i % 3 === 0)!;
    written.push([item, i % 3 === 0 ? embedded(frame) : expected]);
  }
  for (const [item, expected] of written) if (!Buffer.from(item).equals(expected)) return t.fail('a frame changed');
  t.pass();
});

test('a run of large frames is written into slabs sized for each frame, not ever larger ones', (t) => {
  // A 10 KB argument per frame, as a caller's call or a callee's result over the mesh: each
  // frame outgrows the 16 KiB slab. Each view's buffer is the slab it was written into.
  let largest = 0;
  for (let i = 0; i < 300; i++) {
    const frame = resultFrame(i, 'z'.repeat(10_000));
    const item = writeRouted(frame as unknown as OutgoingFrame)!;
    t.true(Buffer.from(item).equals(Buffer.from(cbor.encode([frame]).subarray(1))));
    largest = Math.max(largest, item.buffer.byteLength);
  }
  t.true(largest <= 16 * 1024 + 10_000 + 4096, `the largest slab held ${largest} octets`);
});

test('a frame of 24 keys or more (a map head of two octets) is left to the general encoder, which writes it', (t) => {
  const frame: Record<string, unknown> = {
    t: 'call',
    origin: 'A',
    dst: 'D',
    realm: 'realm1',
    procedure: 'p',
    match: 'exact',
  };
  Object.assign(frame, { mode: 'kill', error: 'e', id: 1, session: 2, progress: true, details: {}, args: [1] });
  Object.assign(frame, { kwargs: {}, who: [1, 'a', 'b', true], mac: new Uint8Array(16), src: 'A', ep: 1 });
  Object.assign(frame, { dsts: ['D'], seqs: [1], lives: [1], ttl: 3, ls: 1, b: new Uint8Array(2) });
  t.is(Object.keys(frame).length, 24);
  t.is(writeRouted(frame as unknown as OutgoingFrame), undefined);
  t.deepEqual(
    Buffer.from(encodeFrame(frame as unknown as OutgoingFrame)),
    Buffer.from(cbor.encode([frame]).subarray(1)),
  );
  delete frame.b;
  t.deepEqual(
    Buffer.from(writeRouted(frame as unknown as OutgoingFrame)!),
    Buffer.from(cbor.encode([frame]).subarray(1)),
  );
});

test("a frame with a client's payload octets (raw) is written as the frame with those values; the general encoder decodes them first", (t) => {
  const args = ['x'.repeat(100), 1, [true, null]];
  const kwargs = { k: 'ü', n: -5 };
  const values = {
    t: 'result',
    origin: 'A',
    dst: 'D',
    id: 9,
    realm: 'realm1',
    progress: false,
    details: {},
    args,
    kwargs,
  };
  const { args: _a, kwargs: _k, ...head } = values;
  const item = (v: unknown) => cbor.encode([v]).subarray(1); // one value, without the list's head
  const raw = { ...head, raw: [item(args), item(kwargs)] };
  const expected = Buffer.from(cbor.encode([values]).subarray(1));
  t.deepEqual(Buffer.from(writeRouted(raw as unknown as OutgoingFrame)!), expected);
  const argsOnly = { ...head, raw: [item(args), undefined] };
  const { kwargs: _, ...valuesArgsOnly } = values;
  t.deepEqual(
    Buffer.from(writeRouted(argsOnly as unknown as OutgoingFrame)!),
    Buffer.from(cbor.encode([valuesArgsOnly]).subarray(1)),
  );
  // A key this writer does not know: the general encoder, with the octets decoded into values.
  const odd = { ...raw, extra: 1 };
  t.is(writeRouted(odd as unknown as OutgoingFrame), undefined);
  t.deepEqual(cbor.decode(encodeFrame(odd as unknown as OutgoingFrame)), { ...head, extra: 1, args, kwargs });
});

test('frames for this node are read whole as decodePassed() reads them, bare or embedded', (t) => {
  let read = 0;
  for (let i = 0; i < 6000; i++) {
    const frame = randomFrame();
    let bytes: Uint8Array;
    try {
      // Embedded as the routers send them (encodeFrame; bare where the writer declines), or bare.
      const item = i % 2 === 0 ? undefined : encodeFrame(frame as unknown as OutgoingFrame);
      bytes = item === undefined ? cbor.encode([frame]) : joinEnvelope([item], item.length);
    } catch {
      continue;
    }
    const decoded = decodeEnvelope(bytes, frame.dst as string);
    if (typeof decoded === 'string' || !(decoded[0] instanceof PassedFrame)) continue;
    const passed = decoded[0];
    if (passed.whole === undefined) continue;
    read++;
    t.deepEqual(canon(withValues(passed.whole)), canon(decodePassed(passed)), JSON.stringify(canon(frame)));
  }
  t.true(read > 1800, `${read} read whole`);
});

/** A frame read whole with its payload left undecoded (routed-reader.ts), with the payload's values instead. */
function withValues(frame: unknown): unknown {
  const payload = (frame as { payload?: RawPayload } | undefined)?.payload;
  if (payload === undefined) return frame;
  const { payload: _, ...rest } = frame as Record<string, unknown>;
  return { ...rest, args: payload.args, kwargs: payload.kwargs };
}

test('a call and a result read whole keep a plain payload undecoded, for a CBOR client; anything else is decoded', (t) => {
  const frame = { t: 'result', origin: 'A', dst: 'A', id: 5, realm: 'realm1', progress: false, details: {} };
  // Bare, and embedded as the routers send them (where the payload is checked as it is walked).
  const forms = {
    bare: (f: object) => cbor.encode([f]),
    embedded: (f: object) => {
      const item = encodeFrame(f as OutgoingFrame)!;
      return joinEnvelope([item], item.length);
    },
  };
  for (const [form, envelope] of Object.entries(forms)) {
    const read = (f: object) => (decodeEnvelope(envelope(f), 'A') as PassedFrame[])[0]!.whole as ResultFrame;
    for (const payload of [
      { args: ['ü', 1.5, [null]], kwargs: { k: Buffer.from('x') } },
      { args: [], kwargs: { k: 1 } },
      { args: [{ a: [1, 'b'] }] },
    ]) {
      const plain = read({ ...frame, ...payload });
      t.true(plain.payload instanceof RawPayload, `${form} ${JSON.stringify(payload)}`);
      t.is(plain.args, undefined);
      t.deepEqual(plain.payload!.args, payload.args);
      t.deepEqual(plain.payload!.kwargs, payload.kwargs);
    }
    // Empty lists and dicts, and tags (a date), are not passed through: decoded as before.
    for (const payload of [{ args: [] }, { args: [1], kwargs: {} }, { args: [new Date(0)] }]) {
      const decoded = read({ ...frame, ...payload });
      t.is(decoded.payload, undefined, `${form} ${JSON.stringify(payload)}`);
      t.truthy(decoded.args);
    }
  }
  // A text that is not UTF-8 (a client's octets, written as they came), in args or in kwargs,
  // the other plain: decoded, as the decoder reads it.
  const badArgs = Uint8Array.of(0x81, 0x62, 0xff, 0xfe);
  const goodArgs = cbor.encode([1]);
  const badKwargs = Uint8Array.of(0xa1, 0x61, 0x6b, 0x62, 0xff, 0xfe);
  const goodKwargs = cbor.encode({ k: 1 } as unknown as unknown[]);
  for (const raw of [[badArgs], [badArgs, goodKwargs], [goodArgs, badKwargs]]) {
    const item = encodeFrame({ ...frame, raw } as unknown as OutgoingFrame)!;
    const decoded = (decodeEnvelope(joinEnvelope([item], item.length), 'A') as PassedFrame[])[0]!.whole as ResultFrame;
    t.is(decoded.payload, undefined, 'not UTF-8');
    t.deepEqual(decoded.args, cbor.decode(raw[0]!) as unknown[]);
    t.deepEqual(decoded.kwargs, raw[1] === undefined ? undefined : cbor.decode(raw[1]));
  }
});

test('only frames for this node are read whole, and never a cancel', (t) => {
  const result = {
    t: 'result',
    origin: 'A',
    dst: 'A',
    id: 5,
    realm: 'realm1',
    progress: false,
    details: {},
    args: [1],
  };
  const cancel = { t: 'cancel', origin: 'A', dst: 'D', id: 7, realm: 'realm1', mode: 'kill' };
  const at = (frame: object, self?: string) => (decodeEnvelope(cbor.encode([frame]), self) as PassedFrame[])[0]!;
  t.like(withValues(at(result, 'A').whole), result);
  t.is(at(result, 'B').whole, undefined);
  t.is(at(result).whole, undefined);
  t.is(at(cancel, 'D').whole, undefined);
  // A key no frame has: left to decodePassed, which takes it as before.
  t.is(at({ ...result, later: 1 }, 'A').whole, undefined);
});

test('runs of frames of one shape, with an identity that recurs, changes in one place, or is changed in place, are written as cbor.encode() writes each', (t) => {
  // The writer keeps the last frame's keys by place and the last identity's octets.
  const who: unknown[] = [7, 'alice', 'user', 'ticket', 'static'];
  const call = (id: number, w: unknown) => ({
    t: 'call',
    origin: 'A',
    dst: 'D',
    id,
    realm: 'realm1',
    procedure: 'com.example.echo',
    match: 'exact',
    session: 70_000 + id,
    details: {},
    who: w,
    args: [id],
  });
  const frames: Record<string, unknown>[] = [];
  for (let i = 0; i < 400; i++) {
    if (i % 50 === 10) who[1] = `user-${i}`; // the same list, changed in place
    const w = i % 9 === 0 ? [...who.slice(0, 4), 'cryptosign'] : i % 31 === 0 ? [7, ['nested'], 'x'] : who;
    const frame: Record<string, unknown> = call(i, w);
    // Now and then another shape: a key fewer, a key more, the keys in another order.
    if (i % 7 === 0) delete frame.session;
    if (i % 11 === 0) frame.mac = new Uint8Array(16).fill(i & 0xff);
    if (i % 13 === 0) frames.push({ ...resultFrame(i, 'r'), t: 'result' });
    frames.push(i % 17 === 0 ? Object.fromEntries(Object.entries(frame).reverse()) : frame);
  }
  for (const [i, frame] of frames.entries()) {
    // Bare and embedded (its keys numbered) in turn: the keys kept by place serve both.
    const embed = i % 3 === 0;
    const mine = writeRouted(frame as unknown as OutgoingFrame, embed);
    const expected = embed ? embedded(frame) : Buffer.from(cbor.encode([frame]).subarray(1));
    if (mine === undefined || !Buffer.from(mine).equals(expected)) return t.fail(JSON.stringify(frame));
  }
  t.pass();
});

test("an embedded item's heads are cbor-x's, in their shortest forms, for every size of frame", (t) => {
  for (const length of [0, 1, 23, 24, 255, 256, 65_535, 65_536, 70_000]) {
    const b = Buffer.alloc(EMBEDDING + length, 0x61);
    const start = embedHead(b, EMBEDDING, length);
    const expected = Buffer.concat([
      Buffer.of(0xd8, 0x18),
      Buffer.from(cbor.encode(Buffer.alloc(length, 0x61) as never)),
    ]);
    t.deepEqual(b.subarray(start), expected, `${length} octets`);
  }
});
