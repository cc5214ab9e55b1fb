// Strings in payloads passed through undecoded must still be UTF-8: the byte check
// (src/serializers/utf8.ts) agrees with a strict decoder, and a bad string is refused with ABORT.

import test from 'ava';
import { Router } from '../../src/router/router.ts';
import { cbor, json, msgpack, type Serializer } from '../../src/serializers/index.ts';
import { InvalidPayload } from '../../src/serializers/payload-check.ts';
import { isValidUtf8 } from '../../src/serializers/utf8.ts';
import { MIN_FRAME, rawPayloadOf } from '../../src/wamp/raw-payload.ts';
import { Rng } from '../helpers/fuzz-input.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';
import { INVALID_UTF8, VALID_UTF8 } from './utf8-samples.ts';

// ---- UTF-8 ----

const strict = new TextDecoder('utf-8', { fatal: true });
const isUtf8ByDecoder = (b: Uint8Array): boolean => {
  try {
    strict.decode(b);
    return true;
  } catch {
    return false;
  }
};

test('UTF-8: the byte check agrees with a strict decoder, short strings and long ones', (t) => {
  for (const pad of [0, 300]) {
    const padding = new Array<number>(pad).fill(0x61);
    for (const seq of INVALID_UTF8) {
      const b = Uint8Array.from([...padding, ...seq]);
      t.false(isValidUtf8(b, 0, b.length), Buffer.from(seq).toString('hex'));
      t.false(isUtf8ByDecoder(b));
    }
    for (const seq of VALID_UTF8) {
      const b = Uint8Array.from([...padding, ...seq, 0x62]);
      t.true(isValidUtf8(b, 0, b.length), Buffer.from(seq).toString('hex'));
    }
  }
  // Random octets, weighted towards the lead and continuation ranges.
  const rng = new Rng(7);
  for (let n = 0; n < 20_000; n++) {
    const b = Uint8Array.from({ length: 1 + rng.int(8) }, () => (rng.chance(0.3) ? rng.int(128) : 0x80 + rng.int(128)));
    t.is(isValidUtf8(b, 0, b.length), isUtf8ByDecoder(b), Buffer.from(b).toString('hex'));
  }
  // The range is honoured: a bad octet just outside it does not count.
  t.true(isValidUtf8(Uint8Array.from([0xff, 0x61, 0xff]), 1, 2));
});

/** A CALL frame of one serialization whose Arguments hold one string of these octets, as the encoder writes it. */
function callWithString(s: Serializer, octets: readonly number[], asKey = false): Uint8Array {
  const marker = 'M'.repeat(octets.length);
  const frame = Buffer.from(
    s.encode(
      [
        48,
        1,
        {},
        'com.example.proc',
        ['padding to pass the size threshold of passthrough, and a little more', asKey ? {} : marker],
        asKey ? { [marker]: 1 } : {},
      ].slice(0, asKey ? 6 : 5),
    ),
  );
  const at = frame.indexOf(marker);
  Buffer.from(octets).copy(frame, at);
  return frame;
}

for (const s of [cbor, msgpack, json]) {
  test(`${s.name}: a string or key of invalid UTF-8 in a payload is refused on its bytes, and with ABORT`, (t) => {
    for (const asKey of [false, true]) {
      for (const seq of INVALID_UTF8) {
        const frame = callWithString(s, seq, asKey);
        t.throws(() => rawPayloadOf(s, frame), { instanceOf: InvalidPayload }, Buffer.from(seq).toString('hex'));
      }
      for (const seq of VALID_UTF8) t.truthy(rawPayloadOf(s, callWithString(s, seq, asKey)));
    }
    const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
    const caller = new MemoryClient(router, s);
    caller.join();
    const frame = callWithString(s, [0xed, 0xa0, 0x80]);
    t.true(frame.length >= MIN_FRAME);
    caller.sendRaw(frame);
    const abort = caller.take().find((m) => m[0] === 3);
    t.is(abort?.[2], 'wamp.error.protocol_violation');
    t.regex(String((abort?.[1] as { message?: string } | undefined)?.message), /not valid UTF-8/);
    t.true(caller.closed);
  });
}
