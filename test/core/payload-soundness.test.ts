// Whatever is passed through undecoded decodes to the values the whole frame decodes to, on
// mutated and on small frames: the byte checks accept nothing the decoders would read otherwise.

import test, { type ExecutionContext } from 'ava';
import { cbor, json, msgpack, type Serializer } from '../../src/serializers/index.ts';
import {
  cborPayloadHeads,
  checkCborPayload,
  InvalidPayload,
  plainCborItemEnd,
} from '../../src/serializers/payload-check.ts';
import { MIN_FRAME, type RawPayload, rawPayloadOf, receivedPayloadOf } from '../../src/wamp/raw-payload.ts';
import { Rng, mutateBytes, randomValue } from '../helpers/fuzz-input.ts';

const all: readonly Serializer[] = [json, msgpack, cbor];

// ---- Soundness: what is passed through decodes, to the values the whole frame decodes to ----

/** The split's head, Arguments and ArgumentsKw are the whole frame's decoded values. */
function sameValues(t: ExecutionContext, raw: RawPayload, whole: unknown[]): void {
  const head = raw.decodeHead() as unknown[];
  const index = head.length;
  t.deepEqual(head, whole.slice(0, index));
  t.deepEqual(raw.args, whole[index]);
  t.deepEqual(raw.kwargs, whole[index + 1]);
}

test('mutated frames: whenever a payload is split off, the whole frame decodes to the same head and payload', (t) => {
  const rng = new Rng(3);
  let split = 0;
  for (const s of all) {
    for (let n = 0; n < 3_000; n++) {
      const args = Array.from({ length: 1 + rng.int(4) }, () => randomValue(rng, 1));
      const message = [rng.pick([48, 70]), 1 + rng.int(1000), {}, 'com.example.proc', args, { k: randomValue(rng, 1) }];
      if (message[0] === 70) message.splice(3, 1);
      let good: Uint8Array;
      try {
        good = s.encode(message);
      } catch {
        continue; // a value this serialization cannot write (a BigInt beyond 64 bits)
      }
      const frame = rng.chance(0.8) ? mutateBytes(rng, s.name, good, good) : good;
      let raw: ReturnType<typeof rawPayloadOf>;
      try {
        raw = rawPayloadOf(s, frame);
      } catch (err) {
        t.true(err instanceof InvalidPayload);
        continue;
      }
      if (raw === undefined) continue;
      split++;
      let whole: unknown[];
      try {
        whole = s.decode(frame) as unknown[];
      } catch (err) {
        // The head is decoded on its own and refuses what the whole frame's decoder refuses.
        t.throws(() => raw!.decodeHead(), undefined, `${s.name}: ${(err as Error).message}`);
        continue;
      }
      sameValues(t, raw, whole);
    }
  }
  t.true(split > 1000, `${split} split`);
});

test('small frames: whenever a CALL or YIELD under MIN_FRAME is split, the whole frame decodes to the same head and payload', (t) => {
  const rng = new Rng(23);
  let split = 0;
  let small = 0;
  const options = [
    {},
    { receive_progress: true },
    { timeout: 1500, x: [1, { y: '}' }] },
    { n: 2 ** 53 },
    { b: 'a\u0000' },
  ];
  const procedures = ['com.example.proc', 'p', 'com.ex"q', 'é.x', 'a\\b'];
  const ids = [0, 1, 7, 2 ** 31, 2 ** 40, 2 ** 53 - 7, 2 ** 53 - 1, 2 ** 53];
  for (const s of [cbor, json]) {
    for (let n = 0; n < 6_000; n++) {
      const args = Array.from({ length: rng.int(3) }, () => randomValue(rng, 3));
      const message: unknown[] = [rng.pick([48, 70]), rng.pick(ids), rng.pick(options), rng.pick(procedures), args];
      if (rng.chance(0.3)) message.push({ k: randomValue(rng, 3) });
      if (message[0] === 70) message.splice(3, 1);
      let good: Uint8Array;
      try {
        good = s.encode(message);
      } catch {
        continue;
      }
      const frame = rng.chance(0.7) ? mutateBytes(rng, s.name, good, good) : good;
      if (frame.length >= MIN_FRAME) continue;
      small++;
      let raw: ReturnType<typeof receivedPayloadOf>;
      try {
        raw = receivedPayloadOf(s, frame);
      } catch (err) {
        t.true(err instanceof InvalidPayload);
        // JSON's decoder refuses it too; cbor-x's would have made it U+FFFD.
        if (s === json) t.throws(() => s.decode(frame), undefined, 'refused on its bytes, and by the decoder');
        continue;
      }
      if (raw === undefined) continue;
      split++;
      let whole: unknown[];
      try {
        whole = s.decode(frame) as unknown[];
      } catch (err) {
        t.fail(
          `${s.name}: split ${Buffer.from(frame).toString('hex')}, which the decoder refuses: ${(err as Error).message}`,
        );
        continue;
      }
      sameValues(t, raw, whole);
    }
  }
  t.true(split > 1000, `${split} of ${small} small frames split`);
});

test("cbor: a payload's items walked one at a time (plainCborItemEnd) and their heads checked after (cborPayloadHeads) take exactly what checkCborPayload takes", (t) => {
  // The mesh's reader walks a call's args and kwargs where they lie in its frame, then checks
  // their heads (mesh/links/routed-reader.ts); a throw (invalid UTF-8) is taken as a no there.
  const rng = new Rng(41);
  const decide = (f: () => boolean): boolean => {
    try {
      return f();
    } catch (err) {
      t.true(err instanceof InvalidPayload);
      return false;
    }
  };
  const taken = [0, 0];
  for (let n = 0; n < 20_000; n++) {
    const count = rng.chance(0.5) ? 1 : 2;
    const items: unknown[] = [Array.from({ length: rng.int(3) }, () => randomValue(rng, 2))];
    if (count === 2) items.push(rng.chance(0.2) ? {} : { k: randomValue(rng, 2) });
    let good: Uint8Array;
    try {
      good = Buffer.concat(items.map((item) => cbor.encode(item as unknown[])));
    } catch {
      continue;
    }
    const b = rng.chance(0.7) ? mutateBytes(rng, 'cbor', good, good) : good;
    const whole = decide(() => checkCborPayload(b, 0, b.length, count));
    const walked = decide(() => {
      const argsEnd = plainCborItemEnd(b, 0, b.length);
      if (argsEnd < 0) return false;
      const end = count === 2 ? plainCborItemEnd(b, argsEnd, b.length) : argsEnd;
      return end === b.length && cborPayloadHeads(b, 0, argsEnd, count);
    });
    t.is(walked, whole, Buffer.from(b).toString('hex'));
    taken[whole ? 1 : 0]!++;
  }
  t.true(taken[0]! > 2000 && taken[1]! > 2000, `taken ${taken[1]}, not ${taken[0]}`);
});
