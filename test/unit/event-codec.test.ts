// Event copies written (links/routed-writer.ts) and read (links/event-reader.ts, through
// decodeEnvelope) without the general CBOR codec: checked against it on many frames, valid and
// not, made from a seeded random generator. The writer must write the octets cbor.encode()
// writes (or leave the frame to it); the reader must answer what cbor.decode() answers (or leave
// the frame to it), so validateFrame() says the same of both.

import test from 'ava';
import { decodeEnvelope } from '../../src/mesh/links/envelope.ts';
import { readEventFrame } from '../../src/mesh/links/event-reader.ts';
import { writeRouted } from '../../src/mesh/links/routed-writer.ts';
import { validateFrame, type OutgoingFrame } from '../../src/mesh/routing/frames.ts';
import { cbor } from '../../src/serializers/index.ts';
import { canon } from '../helpers/canon.ts';
import { seededRandom } from '../mesh/sim.ts';

const random = seededRandom(19);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const maybe = (p = 0.5) => random() < p;
const bytes = (n: number) => new Uint8Array(n).map(() => Math.floor(random() * 256));

const NODES = ['A', 'D', 'nöde-1', 'ノード', 'x'.repeat(40), ''];
const INTS = [
  0,
  1,
  2,
  23,
  24,
  255,
  256,
  65535,
  65536,
  2 ** 32 - 1,
  2 ** 32,
  1_796_470_594_123,
  2 ** 53,
  -1,
  -(2 ** 40),
];
const ODD = [1.5, -0, null, undefined, true, [], {}, 'text', new Uint8Array([1, 2]), 2n ** 60n, [null], [[1]]];

const list = <T>(n: number, item: () => T): T[] => Array.from({ length: n }, item);

/** An event copy, mostly well formed, sometimes with a field of the wrong kind, missing or extra. */
function randomFrame(): Record<string, unknown> {
  const n = maybe(0.9) ? 1 + Math.floor(random() * 3) : 24 + Math.floor(random() * 3);
  const f: Record<string, unknown> = {
    t: 'event',
    src: pick(NODES),
    ep: pick(INTS),
    dsts: list(n, () => pick(NODES)),
    seqs: list(n, () => pick(INTS)),
    lives: list(n, () => pick(INTS)),
    ttl: pick(INTS),
  };
  if (maybe(0.85)) f.b = bytes(Math.floor(random() * 300));
  else f.skip = maybe(0.9) ? true : pick(ODD);
  if (maybe(0.5))
    f.seals = list(n, () => (maybe(0.3) ? null : [bytes(16), bytes(16 * (1 + Math.floor(random() * 40)))]));
  f.ls = pick(INTS);
  if (maybe(0.05)) f[pick(Object.keys(f))] = pick(ODD);
  if (maybe(0.03)) f.extra = pick(ODD);
  if (maybe(0.03)) delete f[pick(Object.keys(f))];
  return f;
}

test('event copies are written as cbor.encode() writes them', (t) => {
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
  }
  t.true(written > 3000, `${written} written here`);
});

test('event copies are read as cbor.decode() reads them, and judged the same by validateFrame()', (t) => {
  let read = 0;
  for (let i = 0; i < 5000; i++) {
    const frame = randomFrame();
    let encoded: Uint8Array;
    try {
      encoded = cbor.encode([frame]);
    } catch {
      continue;
    }
    const general = (cbor.decode(encoded) as unknown[])[0];
    if (readEventFrame(encoded, 1) !== undefined) read++;
    const decoded = decodeEnvelope(encoded);
    if (typeof decoded === 'string') return t.fail(decoded);
    const label = JSON.stringify(canon(frame));
    t.deepEqual(canon(decoded[0]), canon(general), label);
    const verdict = (v: unknown) => {
      const r = validateFrame(v);
      return typeof r === 'string' ? r : 'ok';
    };
    t.is(verdict(decoded[0]), verdict(general), label);
  }
  t.true(read > 2000, `${read} read here`);
});

test('a frame cut short, or followed by another, is read to its own end only', (t) => {
  const frame = { t: 'event', src: 'A', ep: 2 ** 40, dsts: ['D'], seqs: [2], lives: [7], ttl: 7, b: bytes(20), ls: 1 };
  const one = Buffer.from(cbor.encode([frame]).subarray(1));
  for (let cut = 1; cut < one.length; cut++) t.is(readEventFrame(one.subarray(0, cut), 0), undefined, `cut at ${cut}`);
  const two = Buffer.concat([one, one]);
  t.is(readEventFrame(two, 0)?.end, one.length);
  t.is(readEventFrame(two, one.length)?.end, two.length);
});
