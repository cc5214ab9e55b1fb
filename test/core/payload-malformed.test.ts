// Malformed payloads (cut short, huge declared lengths, reserved octets, bad JSON, deep
// nesting) are never passed through: refused with the protocol's error or decoded whole, and
// the router keeps serving.

import test from 'ava';
import { Router } from '../../src/router/router.ts';
import { cbor, json, msgpack, type Serializer } from '../../src/serializers/index.ts';
import { checkJsonPayload } from '../../src/serializers/json-payload-check.ts';
import { InvalidPayload } from '../../src/serializers/payload-check.ts';
import { rawPayloadOf } from '../../src/wamp/raw-payload.ts';
import { Rng, randomValue } from '../helpers/fuzz-input.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';
import { INVALID_UTF8 } from './utf8-samples.ts';

const all: readonly Serializer[] = [json, msgpack, cbor];

// ---- Malformed payloads: refused by the decoder, not passed through ----

/** `payload` (already encoded) as the Arguments of a CALL frame of `s`, padded over the size threshold. */
function cborCall(payload: readonly number[]): Uint8Array {
  const head = Buffer.from(cbor.encode([48, 1, { x: 'y'.repeat(80) }, 'com.example.proc']));
  head[0] = 0x85;
  return Buffer.concat([head, Buffer.from(payload)]);
}
function msgpackCall(payload: readonly number[]): Uint8Array {
  const head = Buffer.from(msgpack.encode([48, 1, { x: 'y'.repeat(80) }, 'com.example.proc']));
  head[0] = 0x95;
  return Buffer.concat([head, Buffer.from(payload)]);
}

const MALFORMED_CBOR: readonly (readonly number[])[] = [
  [0x81, 0x19, 0x01], // a two-octet integer cut short
  [0x81, 0x78], // a string's length octet missing
  [0x81, 0x65, 0x61, 0x62], // a string shorter than declared
  [0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // a list of 2^64-1 items
  [0x9a, 0x7f, 0xff, 0xff, 0xff, 0x01],
  [0x81, 0xba, 0x7f, 0xff, 0xff, 0xff, 0x61, 0x61, 0x01], // a dict of 2^31-1 entries
  [0x81, 0x7a, 0xff, 0xff, 0xff, 0xff, 0x61], // a string of 4 GiB
  [0x81, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // bytes of 2^64-1 octets
  [0x81, 0x1c], // reserved additional information
  [0x81, 0xff], // a break outside an indefinite item
  [0x82, 0x01], // a list shorter than declared
  [0x81, 0x01, 0x01], // bytes after the message
  [0x81, 0xa1, 0x61, 0x61], // a dict without its value
];

const MALFORMED_MSGPACK: readonly (readonly number[])[] = [
  [0x91, 0xcd, 0x01], // uint16 cut short
  [0x91, 0xd9], // str8 without length
  [0x91, 0xa5, 0x61], // a string shorter than declared
  [0xdd, 0xff, 0xff, 0xff, 0xff, 0x01], // a list of 2^32-1 items
  [0x91, 0xdf, 0x7f, 0xff, 0xff, 0xff, 0xa1, 0x61, 0x01], // a map of 2^31-1 entries
  [0x91, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61], // a string of 4 GiB
  [0x91, 0xc6, 0xff, 0xff, 0xff, 0xff], // bin32 of 4 GiB
  [0x92, 0x01], // a list shorter than declared
  [0x91, 0x01, 0x01], // bytes after the message
];

const MALFORMED_JSON: readonly string[] = [
  '[1,]',
  '[1 2]',
  '["unterminated]',
  '["bad escape \\x"]',
  '["\\u12G4"]',
  '[01]',
  '[1.]',
  '[.5]',
  '[+1]',
  '[-]',
  '[tru]',
  '[NaN]',
  '[Infinity]',
  '["tab\there"]',
  '[1], {"a":1,}',
  '[1], {"a" 1}',
  '[1], {a:1}',
  '[1], ["not a dict"]',
  '[1], {"a":1}, {"b":2}',
  '{"not":"a list"}',
  '[1]]',
  '[[1]',
  // Long strings, checked natively rather than octet by octet.
  `["${'x'.repeat(300)}\there"]`,
  `["${'x'.repeat(300)}\\x"]`,
  `["${'x'.repeat(300)}\\"]`,
  `["${'x'.repeat(300)}\\u12G4"]`,
  `["${'x'.repeat(300)}`,
];

/** A router with a callee of `s` for com.example.proc, a caller that sends `frame`, and what each got. */
function sendToCallee(
  s: Serializer,
  frame: Uint8Array,
): { caller: unknown[][]; callee: unknown[][]; survived: boolean } {
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const callee = new MemoryClient(router, s);
  callee.join();
  callee.send([64, 1, {}, 'com.example.proc']);
  callee.take();
  const caller = new MemoryClient(router, s);
  caller.join();
  caller.sendRaw(frame);
  const got = { caller: caller.take(), callee: callee.take() };
  // The router is fine: another caller's CALL goes through.
  const other = new MemoryClient(router, s);
  other.join();
  other.send([48, 2, {}, 'com.example.proc', ['still here']]);
  const survived = callee.take().some((m) => m[0] === 68 && (m[4] as unknown[])[0] === 'still here');
  return { ...got, survived };
}

function expectAbortAndSurvive(
  t: import('ava').ExecutionContext,
  s: Serializer,
  frame: Uint8Array,
  what: string,
): void {
  const got = sendToCallee(s, frame);
  t.is(got.caller.find((m) => m[0] === 3)?.[2], 'wamp.error.protocol_violation', what);
  t.deepEqual(got.callee, [], `${what}: nothing reached the callee`);
  t.true(got.survived, what);
}

for (const [s, frameOf, payloads] of [
  [cbor, cborCall, MALFORMED_CBOR],
  [msgpack, msgpackCall, MALFORMED_MSGPACK],
] as const) {
  test(`${s.name}: payloads cut short, with huge declared lengths or reserved octets give no passthrough and an ABORT`, (t) => {
    for (const payload of payloads) {
      const frame = frameOf(payload);
      const what = Buffer.from(payload).toString('hex');
      t.is(rawPayloadOf(s, frame), undefined, what);
      expectAbortAndSurvive(t, s, frame, what);
    }
  });
}

test('msgpack: 0xc1 ("never used"), which msgpackr decodes, is not passed through', (t) => {
  t.is(rawPayloadOf(msgpack, msgpackCall([0x91, 0xc1])), undefined);
});

test('json: malformed payload text gives no passthrough and an ABORT', (t) => {
  for (const payload of MALFORMED_JSON) {
    const frame = Buffer.from(`[48,1,{"x":"${'y'.repeat(80)}"},"com.example.proc",${payload}]`);
    t.is(rawPayloadOf(json, frame), undefined, payload);
    expectAbortAndSurvive(t, json, frame, payload);
  }
});

test('json: long strings with escapes, escaped quotes and multi-byte characters pass, invalid UTF-8 in them is refused', (t) => {
  const long = 'x'.repeat(300);
  for (const inner of [`${long}\\"quoted\\" and \\\\ and \\u00e9 and é ✓ 😀`, `${long}\\\\`, `\\"${long}\\"`]) {
    const frame = Buffer.from(`[48,1,{},"com.example.proc",["${inner}"],{"k":"${inner}"}]`);
    const raw = rawPayloadOf(json, frame);
    t.truthy(raw, inner.slice(300));
    t.deepEqual(raw!.args, (JSON.parse(frame.toString()) as unknown[])[4]);
  }
  for (const seq of INVALID_UTF8) {
    const frame = Buffer.concat([Buffer.from(`[48,1,{},"p",["${long}`), Buffer.from(seq), Buffer.from('"]]')]);
    t.throws(() => rawPayloadOf(json, frame), { instanceOf: InvalidPayload }, Buffer.from(seq).toString('hex'));
  }
});

test('json: whatever the check accepts, JSON.parse accepts too, with as many values (mutated payload text)', (t) => {
  const rng = new Rng(11);
  const alphabet = '[]{},:"\\ 0123456789-+.eEtrufalsn\u00e9x';
  let accepted = 0;
  for (let n = 0; n < 20_000; n++) {
    const plain = (_k: string, v: unknown) => (typeof v === 'bigint' ? Number(v) : v);
    let text = JSON.stringify([randomValue(rng, 2), 'ü', 1.5e-3], plain);
    if (rng.chance(0.5)) text += `, ${JSON.stringify({ k: randomValue(rng, 2) }, plain)}`;
    for (let m = rng.int(3); m > 0; m--) {
      const at = rng.int(text.length + 1);
      const c = alphabet[rng.int(alphabet.length)]!;
      text = rng.chance(0.5) ? text.slice(0, at) + c + text.slice(at) : text.slice(0, at) + text.slice(at + 1);
    }
    const b = Buffer.from(text);
    const count = checkJsonPayload(b, 0, b.length);
    let parsed: unknown;
    try {
      parsed = JSON.parse(`[${text}]`);
    } catch {
      parsed = undefined;
    }
    if (count > 0) {
      accepted++;
      t.true(Array.isArray(parsed), text);
      t.is((parsed as unknown[]).length, count, text);
    }
  }
  t.true(accepted > 1000, `${accepted} accepted`);
});

test('deep nesting: within the limit it passes through, beyond it the frame is decoded whole; never a crash', (t) => {
  for (const s of all) {
    // `depth` lists, Arguments the outermost, each holding the next and the last one a string.
    for (const depth of [50, 100, 101, 5_000, 100_000]) {
      const frame =
        s === json
          ? Buffer.from(
              `[48,1,{"x":"${'y'.repeat(80)}"},"com.example.proc",${'['.repeat(depth)}"s"${']'.repeat(depth)}]`,
            )
          : (s === cbor ? cborCall : msgpackCall)([
              ...new Array<number>(depth).fill(s === cbor ? 0x81 : 0x91),
              s === cbor ? 0x61 : 0xa1,
              0x73,
            ]);
      const raw = rawPayloadOf(s, frame);
      t.is(raw !== undefined, depth <= 100, `${s.name} ${depth}`);
      // Through a session: passed on or refused, and the router answers the next caller.
      t.true(sendToCallee(s, frame).survived, `${s.name} ${depth}`);
    }
  }
});
