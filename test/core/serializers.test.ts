import test from 'ava';
import { cbor, json, msgpack } from '../../src/serializers/index.ts';

test('MsgPack and CBOR write integers beyond 32 bits as integers, not floats', (t) => {
  const id = 5218805941164479;
  t.is(Buffer.from(msgpack.encode([id])).toString('hex'), '91d300128a79f24659bf');
  t.is(Buffer.from(cbor.encode([id])).toString('hex'), '811b00128a79f24659bf');
  t.is(Buffer.from(cbor.encode([-(2 ** 40)])).toString('hex'), '813b000000ffffffffff');
  t.is(Buffer.from(msgpack.encode([1.5])).toString('hex'), '91cb3ff8000000000000', 'floats stay floats');
});

test('widening never changes the caller\'s value', (t) => {
  const args = [2 ** 40, { n: 2 ** 40 }];
  msgpack.encode([48, 1, {}, 'x', args]);
  cbor.encode([48, 1, {}, 'x', args]);
  t.deepEqual(args, [2 ** 40, { n: 2 ** 40 }]);
  t.is(typeof args[0], 'number');
});

test('CBOR 64-bit integers decode to numbers a JSON peer can take', (t) => {
  const decoded = cbor.decode(Buffer.from('831b00000001000000001b001fffffffffffff3b001ffffffffffffe', 'hex'));
  t.deepEqual(decoded, [2 ** 32, 2 ** 53 - 1, -(2 ** 53) + 1]);
  t.is(Buffer.from(json.encode(decoded as unknown[])).toString(), '[4294967296,9007199254740991,-9007199254740991]');
});

test('JSON writes a BigInt from another serializer as an exact number', (t) => {
  t.is(Buffer.from(json.encode([2n ** 64n - 1n, -(2n ** 53n)])).toString(), '[18446744073709551615,-9007199254740992]');
});

test('integers beyond ±2^53 stay exact (BigInt) in all three decoders; 2^53 itself is a number', (t) => {
  const jsonFrame = Buffer.from('[48, 9007199254740993, 9007199254740992, -9007199254740993, 18446744073709551615]');
  t.deepEqual(json.decode(jsonFrame), [48, 9007199254740993n, 2 ** 53, -9007199254740993n, 18446744073709551615n]);
  // 0xcf: uint64 2^53+1 and 2^53; 0xd3: int64 -(2^53+1).
  const mp = Buffer.from('93cf0020000000000001cf0020000000000000d3ffdfffffffffffff', 'hex');
  t.deepEqual(msgpack.decode(mp), [9007199254740993n, 2 ** 53, -9007199254740993n]);
  const cb = Buffer.from('831b00200000000000011b00200000000000003b0020000000000000', 'hex');
  t.deepEqual(cbor.decode(cb), [9007199254740993n, 2 ** 53, -9007199254740993n]);
  t.is(typeof (cbor.decode(Buffer.from('811b0000000100000000', 'hex')) as unknown[])[0], 'number', '2^32 in 8 bytes is a number');
});
