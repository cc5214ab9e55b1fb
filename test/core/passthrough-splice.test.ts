// Payload passthrough (src/wamp/raw-payload.ts): the exact bytes of Arguments/ArgumentsKw,
// spliced behind a new head, decode to the same message as one encoded from scratch, in every
// serialization; frames without a payload have none to pass through.

import test from 'ava';
import { cbor, json, msgpack, type Serializer } from '../../src/serializers/index.ts';
import { RawPayload, rawPayloadOf } from '../../src/wamp/raw-payload.ts';
import { normalise } from './binary-as-hex.ts';

const all: readonly Serializer[] = [json, msgpack, cbor];

/** A deterministic pseudo-random source, so a failure names its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const STRINGS = [
  '',
  'a',
  'quote " inside',
  'back\\slash',
  'brackets ] } [ {',
  'comma, here',
  'ünïcødé ✓ 😀',
  '\u0001 control',
  'x'.repeat(300),
];

function randomValue(r: () => number, depth: number): unknown {
  const pick = Math.floor(r() * (depth > 3 ? 6 : 9));
  switch (pick) {
    case 0:
      return Math.floor(r() * 2 ** 31) - 2 ** 30;
    case 1:
      return Math.floor(r() * 2 ** 53); // wide integers (64-bit in CBOR/MsgPack)
    case 2:
      return r() * 1e6 - 5e5; // floats
    case 3:
      return STRINGS[Math.floor(r() * STRINGS.length)];
    case 4:
      return r() < 0.5 ? null : r() < 0.5;
    case 5:
      return -Math.floor(r() * 300);
    case 6:
      return Array.from({ length: Math.floor(r() * 20) }, () => randomValue(r, depth + 1));
    case 7:
      return Object.fromEntries(
        Array.from({ length: Math.floor(r() * 20) }, (_, i) => [
          `k${i}${STRINGS[i % STRINGS.length]}`,
          randomValue(r, depth + 1),
        ]),
      );
    default:
      return Uint8Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 256));
  }
}

for (const s of all) {
  test(`${s.name}: CALL -> INVOCATION by splicing equals encoding the values (500 random payloads)`, (t) => {
    for (let seed = 1; seed <= 500; seed++) {
      const r = rng(seed);
      const args = Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, 1));
      const withKw = r() < 0.5;
      const kwargs = { a: randomValue(r, 1), 'b.c': randomValue(r, 1) };
      const call = [
        48,
        1 + Math.floor(r() * 2 ** 53),
        r() < 0.5 ? {} : { disclose_me: true },
        'com.example.proc',
        args,
        ...(withKw ? [kwargs] : []),
      ];
      const frame = s.encode(call);
      const raw = rawPayloadOf(s, frame);
      // An empty payload is left out of the forwarded message rather than passed through.
      if (args.length === 0 && !withKw) {
        t.is(raw, undefined, `seed ${seed}`);
        continue;
      }
      t.true(raw instanceof RawPayload, `seed ${seed}`);
      t.true(raw!.deferred);
      t.deepEqual(normalise(raw!.decodeHead()), normalise(call.slice(0, 4)), `seed ${seed}`);
      t.deepEqual(normalise(raw!.args), normalise(args), `seed ${seed}`);
      if (withKw) t.deepEqual(normalise(raw!.kwargs), normalise(kwargs), `seed ${seed}`);
      else t.is(raw!.kwargs, undefined, `seed ${seed}`);
      const head = [68, 7, 2 ** 53, { caller: 42 }];
      const spliced = raw!.encode(head);
      t.not(spliced, null, `seed ${seed}`);
      t.deepEqual(
        normalise(s.decode(spliced!)),
        normalise([...head, args, ...(withKw ? [kwargs] : [])]),
        `seed ${seed}`,
      );
    }
  });

  test(`${s.name}: a frame without a payload or with only empty ones has none to pass through`, (t) => {
    const frame = s.encode([48, 1, {}, 'com.example.proc']);
    t.is(rawPayloadOf(s, frame), undefined);
    for (const empty of [
      [48, 1, {}, 'p', []],
      [48, 1, {}, 'p', [1], {}],
      [70, 1, {}, [], {}],
    ]) {
      const f = s.encode(empty);
      t.is(rawPayloadOf(s, f), undefined, JSON.stringify(empty));
    }
    const subscribe = s.encode([32, 1, {}, 'com.example.topic']);
    t.is(rawPayloadOf(s, subscribe), undefined);
    const tooMany = s.encode([48, 1, {}, 'p', [1], { a: 1 }, 'extra']);
    t.is(rawPayloadOf(s, tooMany), undefined, 'an extra element: decoded whole, and refused by parseMessage');
  });
}

test('the decoders refuse bytes after the message, which the spans rely on', (t) => {
  for (const s of [msgpack, cbor]) {
    const frame = Buffer.concat([Buffer.from(s.encode([48, 1, {}, 'p', [1]])), Buffer.from([0x01])]);
    t.throws(() => s.decode(frame), undefined, s.name);
    const wide = Buffer.concat([Buffer.from(s.encode([48, 1, {}, 'p', [2 ** 60]])), Buffer.from([0x01])]);
    t.throws(() => s.decode(wide), undefined, `${s.name}, 64-bit path`);
  }
  t.throws(() => json.decode(Buffer.from('[48,1,{},"p",[1]] 1')));
});
