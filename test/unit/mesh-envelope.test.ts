// The mesh envelope (src/mesh/links/envelope.ts, passed-frames.ts): a call's frames are read
// only as far as their routing header and sent on as the bytes they came in; everything else,
// and any call frame not in the plain form the routers write, is decoded whole as before. The
// routers send a call's frames embedded (tag 24 on a byte string, their keys numbered): a node
// they pass through steps over all but their header; bare maps, their keys texts (as older tests
// and hostile peers write them), are read as before.

import test from 'ava';
import { decodeEnvelope, encodeEnvelope, encodeFrame, joinEnvelope } from '../../src/mesh/links/envelope.ts';
import { readRoutedHeader } from '../../src/mesh/links/passed-frames.ts';
import { PassedFrame, decodePassed, type MeshFrame } from '../../src/mesh/routing/frames.ts';
import { cbor } from '../../src/serializers/index.ts';
import { numberedMap, numberedPairs } from '../helpers/mesh-frames.ts';
import { PLACEHOLDER, undecodableCbor, undecodableOctets } from '../helpers/undecodable-cbor.ts';

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

/** A frame as the routers send it, alone in an envelope. */
function sent(frame: object): { item: Buffer; bytes: Buffer } {
  const item = Buffer.from(encodeFrame(frame as MeshFrame));
  return { item, bytes: Buffer.from(joinEnvelope([item], item.length)) };
}

/** An envelope of one frame (its CBOR item). */
const alone = (item: Uint8Array) => Buffer.concat([Buffer.of(0x81), item]);

/** A map's octets as an embedded CBOR data item whose byte string claims `length` octets. */
function embed(map: Uint8Array, length = map.length): Buffer {
  return Buffer.concat([Buffer.of(0xd8, 0x18, 0x59, length >> 8, length & 0xff), map]);
}

const plainCall = { ...call, kwargs: { k: 'v' } };

test("a call's frames are sent embedded: passed through with their header read and the rest stepped over, read whole where they are for", (t) => {
  for (const frame of [plainCall, { ...plainCall, args: ['short'] }, result, error, cancel]) {
    const { item, bytes } = sent(frame);
    t.deepEqual([...item.subarray(0, 2)], [0xd8, 0x18], `${frame.t}: tag 24`);
    t.deepEqual(
      cbor.decode(item.subarray(2)),
      numberedMap(frame),
      `${frame.t}: on a byte string holding the map, its keys numbered`,
    );
    const through = (decodeEnvelope(bytes, 'C') as unknown[])[0] as PassedFrame;
    t.true(through instanceof PassedFrame);
    t.like(through, { t: frame.t, origin: frame.origin, dst: frame.dst, id: frame.id, realm: frame.realm });
    t.is(through.whole, undefined, 'not read whole where it passes through');
    t.deepEqual(Buffer.from(encodeEnvelope([through])), bytes, 'sent on byte for byte');
    t.deepEqual(decodePassed(through), frame);
    // Where it is for, read whole in the same pass (but a cancel, whose header says it all);
    // routed-codec.test.ts checks that reading against decodePassed's.
    const here = (decodeEnvelope(bytes, frame.dst) as unknown[])[0] as PassedFrame;
    t.is(typeof here.whole, frame.t === 'cancel' ? 'undefined' : 'object', `${frame.t} read whole where it is for`);
  }
});

test('an embedded frame passing through is not read past its header; where it is for, one that is no frame is refused and the next frames still read', (t) => {
  // A payload the CBOR decoder refuses, inside: stepped over where the frame passes through.
  const map = undecodableOctets(numberedMap({ ...plainCall, args: [PLACEHOLDER] }));
  const bytes = alone(embed(map));
  const through = (decodeEnvelope(bytes, 'C') as unknown[])[0] as PassedFrame;
  t.true(through instanceof PassedFrame);
  t.deepEqual(Buffer.from(through.encoded), bytes.subarray(1));
  t.regex(decodePassed(through) as string, /undecodable call frame/);
  // After the header, octets that are no CBOR at all (a reserved head): stepped over where the
  // frame passes through; where it is for, the frame is refused (its caller is answered with
  // the reason) and the envelope's next frame read as usual: the neighbour that passed it on
  // could not have known, so it is no reason to close that link.
  const header = numberedMap({ t: 'call', origin: 'A', dst: 'D', id: 9, realm: 'realm1' });
  // (details, 11, whose value is a reserved head)
  const odd = embed(Buffer.concat([Buffer.of(0xa6), header.subarray(1), Buffer.of(11, 0x1c)]));
  const next = sent({ ...plainCall, id: 10 }).item;
  const oddBytes = Buffer.concat([Buffer.of(0x82), odd, next]);
  const [passing] = decodeEnvelope(oddBytes, 'C') as PassedFrame[];
  t.like(passing, { t: 'call', origin: 'A', dst: 'D', id: 9, whole: undefined });
  const [refused, after] = decodeEnvelope(oddBytes, 'D') as PassedFrame[];
  t.like(refused, { t: 'call', origin: 'A', dst: 'D', id: 9 });
  t.is(typeof refused!.whole, 'string', 'refused where it is for');
  t.deepEqual(Buffer.from(refused!.encoded), odd);
  t.like(after, { t: 'call', id: 10 });
  t.is(typeof after!.whole, 'object', 'the next frame read whole');
  // A map longer than its byte string, a byte string that runs past the envelope: no envelope.
  const whole = numberedMap(plainCall);
  for (const self of ['D', 'C']) {
    t.is(typeof decodeEnvelope(alone(embed(whole, whole.length - 3)), self), 'string');
    t.is(typeof decodeEnvelope(alone(embed(whole.subarray(0, 12))), self), 'string');
    t.is(typeof decodeEnvelope(alone(embed(whole, whole.length + 1)), self), 'string');
  }
});

test("a routing header that runs past its frame's byte string is never read from what follows", (t) => {
  // The byte string claims the first 12 octets of the map; the rest of the header follows it.
  // Read on, the header would be whole, and the frame passed on under a header not its own.
  const whole = numberedMap(plainCall);
  const bytes = embed(whole, 12);
  for (const self of ['C', 'D']) t.is(readRoutedHeader(bytes, 0, self), undefined, `at ${self}`);
  t.like(readRoutedHeader(embed(whole), 0, 'C'), { t: 'call', id: call.id }, 'the same frame whole is read');
});

test('a list cut short at the end of the octets, in a frame read whole where it is for, is refused as the decoder refuses it', (t) => {
  // A chunk's args claim three items; the frame, and all there is, ends after two. Its reader
  // must not take the two read for the list.
  const whole = numberedMap({
    t: 'chunk',
    origin: 'X',
    dst: 'X',
    id: 5,
    realm: 'realm1',
    progress: true,
    args: [1, 2, 3],
  });
  const cut = whole.subarray(0, whole.length - 1);
  const passed = readRoutedHeader(embed(cut), 0, 'X');
  t.like(passed, { t: 'chunk', origin: 'X', id: 5 }, 'its header read');
  t.is(typeof passed!.whole, 'string', 'refused');
  t.is(passed!.whole, decodePassed(passed!), "in the decoder's words");
});

/**
 * A CBOR map of these pairs in this order, keys repeated as given (cbor.encode would keep the
 * last); numbered: each key (and the type) as its number, as in an embedded frame.
 */
function mapOf(pairs: [string, unknown][], numbered = false): Buffer {
  if (numbered) return numberedPairs(pairs);
  const items = pairs.flatMap(([k, v]) => [Buffer.from(cbor.encode(k as never)), Buffer.from(cbor.encode(v as never))]);
  return Buffer.concat([Buffer.of(0xa0 | pairs.length), ...items]);
}

test('a routing header key given twice: routed by its first value everywhere, refused where the frame is read whole', (t) => {
  // A result for call 5 of X that names call 9 again after its payload: a node passing it on stops
  // reading before the second ID, so the node it is for must not take it as call 9's answer.
  const pairs: [string, unknown][] = [
    ['t', 'result'],
    ['origin', 'X'],
    ['dst', 'X'],
    ['id', 5],
    ['realm', 'realm1'],
    ['progress', false],
    ['details', {}],
    ['args', ['forged']],
    ['id', 9],
  ];
  for (const form of ['embedded', 'bare']) {
    const bytes = alone(form === 'embedded' ? embed(mapOf(pairs, true)) : mapOf(pairs));
    const [through] = decodeEnvelope(bytes, 'C') as PassedFrame[];
    t.like(through, { t: 'result', origin: 'X', id: 5 }, `${form}: passed on as call 5's`);
    const [here] = decodeEnvelope(bytes, 'X') as PassedFrame[];
    t.like(here, { t: 'result', origin: 'X', id: 5 }, `${form}: read as call 5's where it is for`);
    t.regex(here!.whole as string, /repeated/, `${form}: and refused there`);
    // Read by the general decoder (which keeps a repeated key's last value): refused as well.
    t.regex(decodePassed(through!) as string, /two ways/, `${form}: decoded whole`);
  }
});

test('only the frames of a call are embedded: anything else so is no envelope', (t) => {
  const ack = embed(mapOf([['t', 'ack']], true));
  t.regex(decodeEnvelope(alone(ack), 'C') as string, /only the frames of a call/);
});

test("an embedded frame's keys are its fields' numbers, one octet each: any other key is stepped over where the frame passes and refused where it is read; a number no field has yet is left out", (t) => {
  const header: [string, unknown][] = [
    ['t', 'call'],
    ['origin', 'A'],
    ['dst', 'D'],
    ['id', 9],
    ['realm', 'realm1'],
  ];
  const rest: [string, unknown][] = [
    ['procedure', 'p'],
    ['match', 'exact'],
    ['session', 1],
    ['details', {}],
    ['args', [1]],
  ];
  const numbered = mapOf([...header, ...rest], true);
  /** The frame with one more key and value after its last, as octets. */
  const plus = (key: Buffer, value: unknown) =>
    Buffer.concat([Buffer.of(0xab), numbered.subarray(1), key, Buffer.from(cbor.encode(value as never))]);
  // Numbered: read whole where it is for, with its fields named.
  const [read] = decodeEnvelope(alone(embed(numbered)), 'D') as PassedFrame[];
  t.like(read!.whole, { t: 'call', origin: 'A', dst: 'D', id: 9, procedure: 'p', session: 1 });
  // After the header, a text key, the destination again as the text "2" or as 2 in two octets
  // (which the general decoder cannot tell from the number 2), a larger number: stepped over
  // where the frame passes, refused where it is read, whatever the general decoder would make of it.
  const odd = {
    text: plus(Buffer.from(cbor.encode('extra' as never)), 1),
    'text digits': plus(Buffer.from(cbor.encode('2' as never)), 'D'),
    'two octets': plus(Buffer.of(0x18, 0x02), 'D'),
    'two octets, another value': plus(Buffer.of(0x18, 0x02), 'Z'),
    'a number past 23': plus(Buffer.of(0x18, 0x64), 1),
    negative: plus(Buffer.of(0x20), 1),
  };
  for (const [name, map] of Object.entries(odd)) {
    const [passing] = decodeEnvelope(alone(embed(map)), 'C') as PassedFrame[];
    t.like(passing, { t: 'call', dst: 'D', id: 9, whole: undefined }, `${name}: passed on`);
    const [here] = decodeEnvelope(alone(embed(map)), 'D') as PassedFrame[];
    t.regex(String(here!.whole), /call frame: an embedded frame's keys are numbers under 24, one octet each/, name);
  }
  // An odd key before the header is whole: no header to route by, and no envelope (no honest
  // neighbour passes such a frame on: it reads the header first).
  const early = Buffer.concat([Buffer.of(0xaa, 0x18, 0x00, 0x00), numbered.subarray(3)]);
  t.regex(decodeEnvelope(alone(embed(early)), 'C') as string, /not in the routers' form/);
  t.regex(decodeEnvelope(alone(embed(mapOf([...header, ...rest]))), 'C') as string, /keys are numbers, not "t"/);
  // A number no field has yet (16 to 23): stepped over, the frame taken without it.
  const [unknown] = decodeEnvelope(alone(embed(plus(Buffer.of(20), 'x'))), 'D') as PassedFrame[];
  const taken = unknown!.whole ?? decodePassed(unknown!);
  t.like(taken, { t: 'call', id: 9, procedure: 'p' });
  t.false(Object.values(taken as object).includes('x'));
});

test("an embedded frame's type is its number: a text, or a number no type has, is refused with the envelope; a number in a bare frame is refused as well", (t) => {
  const frame = { ...cancel, dst: 'D' };
  const numbered = numberedMap(frame);
  t.is(numbered[2], 2, 'a cancel is type 2');
  for (const self of ['C', 'D'])
    t.like((decodeEnvelope(alone(embed(numbered)), self) as PassedFrame[])[0], { t: 'cancel', id: 7 }, `at ${self}`);
  const text = mapOf(Object.entries(frame), true);
  const asText = Buffer.concat([text.subarray(0, 2), Buffer.from(cbor.encode('cancel' as never)), text.subarray(3)]);
  t.regex(decodeEnvelope(alone(embed(asText)), 'C') as string, /embedded cancel frame not in the routers' form/);
  const five = Buffer.from(numbered);
  five[2] = 5;
  t.regex(decodeEnvelope(alone(embed(five)), 'C') as string, /only the frames of a call are embedded/);
  // A bare frame keeps its type as a text: a number there is read by neither reader.
  const bare = Buffer.concat([
    Buffer.of(0xa6),
    Buffer.from(cbor.encode('t' as never)),
    Buffer.of(2),
    mapOf(Object.entries(frame).slice(1)).subarray(1),
  ]);
  const decoded = decodeEnvelope(alone(bare), 'D') as unknown[];
  t.false(decoded[0] instanceof PassedFrame);
  t.like(decoded[0], { t: 2 }, 'left to validateFrame, which refuses it');
});

test("fields a frame of its type does not carry are not taken from a peer: a node's own (an undecoded payload, a client's octets) nor any other", async (t) => {
  const { validateFrame } = await import('../../src/mesh/routing/frames.ts');
  const hostile = { ...result, payload: { attach: 1 }, raw: [Buffer.of(0x1c)], later: 1 };
  // Read whole by the general decoder, where it is for (a bare frame passed on as its octets).
  const [passed] = decodeEnvelope(cbor.encode([hostile]), 'A') as PassedFrame[];
  t.true(passed instanceof PassedFrame);
  const whole = passed!.whole ?? decodePassed(passed!);
  t.deepEqual(whole, result);
  // Decoded whole on the way (its ID a float, 5.0 in a half-precision head, which the header's
  // reader leaves to the general decoder): the same, so what the node sends on is written from
  // the frame's own fields.
  const map = Buffer.from(cbor.encode(hostile as never));
  const id = map.indexOf(Buffer.concat([Buffer.from(cbor.encode('id' as never)), Buffer.of(0x05)]));
  const odd = Buffer.concat([map.subarray(0, id + 3), Buffer.of(0xf9, 0x45, 0x00), map.subarray(id + 4)]);
  const [decoded] = decodeEnvelope(alone(odd), 'C') as unknown[];
  t.false(decoded instanceof PassedFrame);
  const valid = validateFrame(decoded);
  t.deepEqual(valid, result);
  t.deepEqual(Object.keys(valid as object).slice(0, 5), ['t', 'origin', 'dst', 'id', 'realm'], 'its header first');
});
