// Payloads checked on their bytes (src/serializers/payload-check.ts, utf8.ts, frame-head.ts):
// what is passed through undecoded must be what the decoder accepts, strings must be UTF-8, and
// anything malformed (cut short, huge declared lengths, deep nesting, bad JSON) is either refused
// with the protocol's error or decoded whole as before, never a crash.

import test, { type ExecutionContext } from 'ava';
import { Router } from '../../src/router/router.ts';
import { cbor, json, msgpack, type Serializer } from '../../src/serializers/index.ts';
import { checkJsonPayload } from '../../src/serializers/json-payload-check.ts';
import { InvalidPayload } from '../../src/serializers/payload-check.ts';
import { isValidUtf8 } from '../../src/serializers/utf8.ts';
import { MIN_FRAME, type RawPayload, rawPayloadOf, receivedPayloadOf } from '../../src/wamp/raw-payload.ts';
import { Rng, mutateBytes, randomValue } from '../helpers/fuzz-input.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';

const all: readonly Serializer[] = [json, msgpack, cbor];

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

const INVALID_UTF8: readonly (readonly number[])[] = [
  [0x80], // a lone continuation byte
  [0xc0, 0xaf], // overlong "/"
  [0xc1, 0xbf], // overlong
  [0xe0, 0x80, 0xaf], // overlong, 3 octets
  [0xf0, 0x80, 0x80, 0xaf], // overlong, 4 octets
  [0xed, 0xa0, 0x80], // a surrogate (U+D800)
  [0xed, 0xbf, 0xbf], // a surrogate (U+DFFF)
  [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
  [0xf5, 0x80, 0x80, 0x80],
  [0xff],
  [0xc3], // cut short at the end of the string
  [0xe2, 0x82], // cut short
  [0xc3, 0x41], // a lead byte followed by ASCII
];

const VALID_UTF8: readonly (readonly number[])[] = [
  [0xc2, 0x80], // U+0080
  [0xdf, 0xbf], // U+07FF
  [0xe0, 0xa0, 0x80], // U+0800
  [0xed, 0x9f, 0xbf], // U+D7FF
  [0xee, 0x80, 0x80], // U+E000
  [0xef, 0xbf, 0xbf], // U+FFFF
  [0xf0, 0x90, 0x80, 0x80], // U+10000
  [0xf4, 0x8f, 0xbf, 0xbf], // U+10FFFF
];

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
