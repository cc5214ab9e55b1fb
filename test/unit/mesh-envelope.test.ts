// The mesh envelope (src/mesh/links/envelope.ts, passed-frames.ts): a call's frames are read
// only as far as their routing header and sent on as the bytes they came in; everything else,
// and any call frame not in the plain form the routers write, is decoded whole as before.

import test from 'ava';
import { decodeEnvelope, encodeEnvelope } from '../../src/mesh/links/envelope.ts';
import { PassedFrame, decodePassed, type MeshFrame } from '../../src/mesh/routing/frames.ts';
import { cbor } from '../../src/serializers/index.ts';
import { PLACEHOLDER, undecodableCbor } from '../helpers/undecodable-cbor.ts';

const call = {
  t: 'call',
  origin: 'A',
  dst: 'D',
  id: 2 ** 40,
  realm: 'realm1',
  procedure: 'com.example.echo',
  match: 'exact',
  session: 7,
  details: { caller: 3, caller_authid: 'ünïcode' },
  args: ['x'.repeat(300), { nested: [1, 2, 3] }],
  kwargs: { k: new Uint8Array([1, 2, 3]) },
} as const;
const result = { t: 'result', origin: 'A', dst: 'A', id: 5, realm: 'realm1', progress: true, details: {}, args: [1] };
const error = { t: 'error', origin: 'A', dst: 'A', id: 6, realm: 'realm1', error: 'com.err', details: { x: 1 } };
const cancel = { t: 'cancel', origin: 'A', dst: 'D', id: 7, realm: 'realm1', mode: 'kill' };
const ack = { t: 'ack', r: 3, c: 2 };

test('call frames become PassedFrames with their header read, and are sent on byte for byte', (t) => {
  for (const frame of [call, result, error, cancel]) {
    const bytes = cbor.encode([frame]);
    const decoded = decodeEnvelope(bytes);
    if (typeof decoded === 'string') return t.fail(decoded);
    const passed = decoded[0];
    if (!(passed instanceof PassedFrame)) return t.fail(`${frame.t} not passed`);
    t.like(passed, { t: frame.t, origin: frame.origin, dst: frame.dst, id: frame.id, realm: frame.realm });
    t.is(passed.progress, frame.t === 'result');
    t.is(passed.mode, frame.t === 'cancel' ? 'kill' : '');
    t.is(passed.error, frame.t === 'error' ? 'com.err' : '');
    t.deepEqual(Buffer.from(encodeEnvelope([passed])), Buffer.from(bytes));
    t.deepEqual(decodePassed(passed), (cbor.decode(bytes) as MeshFrame[])[0]);
  }
});

test('header texts are read as UTF-8, the same each time they recur', (t) => {
  for (const origin of ['nöde-1', 'node-1', 'nöde-1', 'ノード', 'node-1']) {
    const decoded = decodeEnvelope(cbor.encode([{ ...cancel, origin, realm: `${origin}.realm` }]));
    t.like((decoded as unknown[])[0], { origin, realm: `${origin}.realm`, dst: 'D' });
  }
});

test('an envelope of several frames: passed and decoded ones in order, and encoded together again', (t) => {
  const bytes = cbor.encode([ack, call, result]);
  const decoded = decodeEnvelope(bytes);
  if (typeof decoded === 'string') return t.fail(decoded);
  t.deepEqual(decoded[0], ack);
  t.true(decoded[1] instanceof PassedFrame && decoded[2] instanceof PassedFrame);
  t.deepEqual(Buffer.from(encodeEnvelope(decoded as (PassedFrame | MeshFrame)[])), Buffer.from(bytes));
});

test('call frames not in the plain form are decoded whole, and bad ones refused as before', (t) => {
  const whole = (frame: unknown) => {
    const decoded = decodeEnvelope(cbor.encode([frame]));
    return typeof decoded === 'string' ? decoded : decoded[0];
  };
  // A float ID, a progress of another type, a missing header field, args that are no list.
  t.deepEqual(whole({ ...result, id: 1.5 }), { ...result, id: 1.5 });
  t.false(whole({ ...result, progress: 1 }) instanceof PassedFrame);
  t.false(whole({ ...cancel, mode: undefined }) instanceof PassedFrame);
  t.false(whole({ ...call, args: { not: 'a list' } }) instanceof PassedFrame);
  t.false(whole({ ...call, details: [] }) instanceof PassedFrame);
  t.false(whole({ ...call, id: 2 ** 53 + 2 }) instanceof PassedFrame);
  // Not an envelope at all, cut short, trailing octets.
  t.regex(decodeEnvelope(cbor.encode([])) as string, /non-empty CBOR array/);
  const bytes = cbor.encode([call]);
  t.regex(decodeEnvelope(bytes.subarray(0, bytes.length - 3)) as string, /undecodable/);
  t.regex(decodeEnvelope(Buffer.concat([bytes, Buffer.of(0)])) as string, /undecodable|non-empty/);
});

test('the payload of a passed frame is not decoded until the node it is for asks', (t) => {
  // args holds an indefinite-length text string, which the CBOR decoder refuses.
  const bytes = undecodableCbor([{ ...call, args: [PLACEHOLDER] }]);
  const decoded = decodeEnvelope(bytes);
  if (typeof decoded === 'string') return t.fail(decoded);
  const passed = decoded[0] as PassedFrame;
  t.true(passed instanceof PassedFrame);
  t.regex(decodePassed(passed) as string, /undecodable call frame/);
});
