// Payload passthrough on frames laid out as the router's own encoders never write them but
// peers may: the scanners find the payload's exact bytes, or decline and the frame is decoded whole.

import test from 'ava';
import { Encoder } from 'cbor-x';
import { Packr } from 'msgpackr';
import { cbor, json, msgpack } from '../../src/serializers/index.ts';
import { rawPayloadOf } from '../../src/wamp/raw-payload.ts';
import { normalise } from './binary-as-hex.ts';

// Layouts the router's own encoders never write, but peers may.

test('json: whitespace, escapes and nesting anywhere; the tail is exactly the payload text', (t) => {
  const text =
    ' \n[ 48 ,\t1, { "x" : [1, {"y": "]"}] } , "com.p\\"q" ,\r\n [ "a,b", {"c": "\\\\"}, [ ] ] , { "k" : "}" } \n] ';
  const frame = Buffer.from(text);
  // A leading space: not split (decoded whole); the same frame without it is.
  t.is(rawPayloadOf(json, frame), undefined);
  const trimmed = Buffer.from(text.trimStart());
  const raw = rawPayloadOf(json, trimmed)!;
  t.deepEqual(raw.decodeHead(), [48, 1, { x: [1, { y: ']' }] }, 'com.p"q']);
  const spliced = raw.encode([68, 5, 6, {}])!;
  t.true(Buffer.from(spliced).toString().endsWith(',[ "a,b", {"c": "\\\\"}, [ ] ] , { "k" : "}" }]'));
  t.deepEqual(JSON.parse(Buffer.from(spliced).toString()), [68, 5, 6, {}, ['a,b', { c: '\\' }, []], { k: '}' }]);
});

test('json: binary strings and integers beyond 2^53 reach a JSON peer as they were written', (t) => {
  const text = '[70,9,{},["\\u0000AQID",9007199254740993]]';
  const frame = Buffer.from(text);
  const raw = rawPayloadOf(json, frame)!;
  t.deepEqual(raw.args, [Buffer.from([1, 2, 3]), 9007199254740993n]);
  const spliced = raw.encode([50, 3, {}])!;
  t.is(Buffer.from(spliced).toString(), '[50,3,{},["\\u0000AQID",9007199254740993]]');
});

test('json: a byte-order mark or a cut-off frame gives no payload (the router decodes the frame whole)', (t) => {
  t.is(rawPayloadOf(json, Buffer.from('\ufeff[48,1,{},"p",[1]]')), undefined);
  t.is(rawPayloadOf(json, Buffer.from('[48,1,{},"p",[1')), undefined);
  t.is(rawPayloadOf(json, Buffer.from('[48,1,{},"p"')), undefined);
  t.is(rawPayloadOf(json, Buffer.from('{"a":1}')), undefined);
});

test('cbor: indefinite lengths, tags and undefined are not passed through; the frame is decoded whole', (t) => {
  // [_ 48, 1, {}, "p", [_ "ab", 1.5, tag 1(0), true, undefined, h'0102'], {_ "k": [_ 1 ]}]
  const frame = Uint8Array.from([
    0x9f, 0x18, 48, 0x01, 0xa0, 0x61, 0x70, 0x9f, 0x62, 0x61, 0x62, 0xfb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xc1, 0x00,
    0xf5, 0xf7, 0x42, 1, 2, 0xff, 0xbf, 0x61, 0x6b, 0x9f, 0x01, 0xff, 0xff, 0xff,
  ]);
  t.is((cbor.decode(frame) as unknown[]).length, 6);
  t.is(rawPayloadOf(cbor, frame), undefined);
  // The same payload in a definite-length frame: the tag and undefined still keep it out.
  const definite = Uint8Array.from([0x86, ...frame.subarray(1, frame.length - 1)]);
  t.is(rawPayloadOf(cbor, definite), undefined);
  for (const item of [[0xc1, 0x00], [0xf7], [0x5f, 0x41, 0x61, 0xff], [0xf0]]) {
    const f = Uint8Array.from([0x85, 0x18, 48, 0x01, 0xa0, 0x61, 0x70, 0x81, ...item]);
    t.is(rawPayloadOf(cbor, f), undefined, Buffer.from(item).toString('hex'));
  }
});

test('cbor: integers written wider than needed pass through unchanged', (t) => {
  // 1 as an 8-octet integer; a re-encoding would shorten it.
  const frame = Uint8Array.from([0x84, 0x18, 70, 0x01, 0xa0, 0x81, 0x1b, 0, 0, 0, 0, 0, 0, 0, 1]);
  const raw = rawPayloadOf(cbor, frame)!;
  t.deepEqual(raw.args, [1]);
  const spliced = raw.encode([50, 2, {}])!;
  t.deepEqual([...spliced], [0x84, 0x18, 50, 0x02, 0xa0, 0x81, 0x1b, 0, 0, 0, 0, 0, 0, 0, 1]);
});

test('cbor and msgpack: a head cut short, an unused octet or a frame that is no short list give no payload', (t) => {
  for (const f of [
    [0x85, 0x18, 48, 0x01, 0xa0, 0x62, 0x70], // procedure cut short
    [0x85, 0x18, 48, 0x01, 0xa0, 0x61, 0x70], // no payload
    [0x85, 0x18, 48, 0x01, 0xbc, 0x61, 0x70, 0x80], // reserved additional info
    [0x9f, 0x18, 48, 0x01, 0xa0, 0x61, 0x70, 0x80], // indefinite, no break
    [0x98, 0x05, 0x18, 48, 0x01, 0xa0, 0x61, 0x70, 0x81, 0x01], // a two-octet list head
    [0xa1, 0x01, 0x02],
    [0x84, 0x18, 70, 0x01, 0xa0], // index past the list
    [0x85, 0xf9, 0x52, 0x00, 0x01, 0xa0, 0x61, 0x70, 0x81, 0x01], // the type code as a float
  ])
    t.is(rawPayloadOf(cbor, Uint8Array.from(f)), undefined, Buffer.from(f).toString('hex'));
  for (const f of [
    [0x95, 48, 0x01, 0x80, 0xa2, 0x70],
    [0x95, 48, 0x01, 0xc1, 0xa1, 0x70, 0x90],
    [0x94, 48, 0x01, 0x80, 0xa1, 0x70],
    [0x81, 0x01, 0x02],
    [0xdc, 0x00, 0x05, 48, 0x01, 0x80, 0xa1, 0x70, 0x91, 0x01], // a 16-bit list head
  ])
    t.is(rawPayloadOf(msgpack, Uint8Array.from(f)), undefined, Buffer.from(f).toString('hex'));
});

test('msgpack: 16-bit list and map heads and every integer width inside the payload; ext types are not passed through', (t) => {
  const packr = new Packr({ useRecords: false, variableMapSize: true });
  const args = [2 ** 40, -(2 ** 40), 255, -100, 65_535, 2 ** 63, Array.from({ length: 20 }, (_, i) => i), 1.5];
  const kwargs = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i * 1.5]));
  const frame = packr.pack([16, 3, {}, 'com.topic', args, kwargs]);
  const raw = rawPayloadOf(msgpack, frame)!;
  t.false(raw.deferred, 'PUBLISH is decoded whole');
  const decoded = msgpack.decode(frame) as unknown[];
  t.is(raw.attach({ type: 16, request: 3, options: {}, topic: 'com.topic' }, decoded).type, 16);
  t.deepEqual(raw.kwargs, kwargs);
  const spliced = raw.encode([36, 4, 5, {}])!;
  t.deepEqual(normalise(msgpack.decode(spliced)), normalise([36, 4, 5, {}, decoded[4], decoded[5]]));
  const withDate = packr.pack([16, 3, {}, 'com.topic', [new Date(0)]]);
  t.is(rawPayloadOf(msgpack, withDate), undefined);
});

test('a CBOR frame from another encoder, with records and tags disabled as peers send them', (t) => {
  const other = new Encoder({
    useRecords: false,
    mapsAsObjects: true,
    tagUint8Array: false,
    pack: false,
  } as ConstructorParameters<typeof Encoder>[0]);
  const frame = other.encode([8, 68, 12, {}, 'com.error', ['why', new Uint8Array([1, 2])], { code: 7 }]);
  const raw = rawPayloadOf(cbor, frame)!;
  raw.attach({ type: 8, requestType: 68, request: 12, details: {}, error: 'com.error' }, cbor.decode(frame));
  const spliced = raw.encode([8, 48, 99, {}, 'com.error'])!;
  t.deepEqual(
    normalise(cbor.decode(spliced)),
    normalise([8, 48, 99, {}, 'com.error', ['why', new Uint8Array([1, 2])], { code: 7 }]),
  );
});
