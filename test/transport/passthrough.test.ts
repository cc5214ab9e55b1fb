// Payload passthrough through a real router process: a callee or subscriber of the caller's or
// publisher's serialization gets the payload's bytes exactly as they were sent (spacing, number
// spelling, integer widths), one of another serialization gets the decoded values transcoded.

import test from 'ava';
import { cbor } from '../../src/serializers/index.ts';
import { connect, type RawClient } from '../helpers/raw-client.ts';
import { startRouter, type RouterProcess } from '../helpers/router-process.ts';

let router: RouterProcess;
test.before(async () => {
  router = await startRouter();
});
test.after.always(() => router?.stop());

const open = async (
  transport: 'rawsocket' | 'websocket',
  serializer: 'json' | 'cbor' | 'msgpack',
): Promise<RawClient> => {
  const c = await connect({ transport, serializer, port: router.rawsocketPort, url: router.wsUrl });
  await c.join();
  return c;
};

/** The next frame's bytes, in raw mode. */
function nextFrame(c: RawClient): Promise<Buffer> {
  return new Promise((resolve) => c.rawMode((p) => resolve(Buffer.from(typeof p === 'string' ? Buffer.from(p) : p))));
}

// Over 96 octets, where the router passes payloads through (src/serializers/raw-payload.ts).
const ARGS_TEXT =
  '[ 1.0, 12345678901234567890 , "text with \\"quotes\\" and ] brackets", {"nested":[1e3, -0.5, null]} ]';
const KWARGS_TEXT = '{ "unit" : "°C", "n": 1.50 }';

test("JSON caller and JSON callee: the arguments arrive in the caller's spelling, the result in the callee's", async (t) => {
  const callee = await open('websocket', 'json');
  const caller = await open('rawsocket', 'json');
  await callee.register('pass.json');
  const invocation = nextFrame(callee);
  caller.sendFrame(Buffer.from(`[48, 7, {}, "pass.json", ${ARGS_TEXT}, ${KWARGS_TEXT}]`));
  const inv = (await invocation).toString();
  t.true(inv.startsWith('[68,'), inv);
  t.true(inv.endsWith(`,${ARGS_TEXT}, ${KWARGS_TEXT}]`), inv);
  const request = (JSON.parse(inv) as unknown[])[1] as number;

  const result = nextFrame(caller);
  callee.sendFrame(
    Buffer.from(
      `[70,${request},{},["a result of some length", 1.0, 2.50, 99999999999999999999, "padding to pass the threshold"]]`,
    ),
  );
  t.is(
    (await result).toString(),
    '[50,7,{},["a result of some length", 1.0, 2.50, 99999999999999999999, "padding to pass the threshold"]]',
  );
  await Promise.all([callee.destroy(), caller.destroy()]);
});

test('JSON caller, CBOR callee: the values are transcoded, exact beyond 2^53', async (t) => {
  const callee = await open('rawsocket', 'cbor');
  const caller = await open('websocket', 'json');
  await callee.register('pass.mixed');
  const got = callee.next((m) => m[0] === 68);
  caller.sendFrame(Buffer.from(`[48, 8, {}, "pass.mixed", ${ARGS_TEXT}, ${KWARGS_TEXT}]`));
  const inv = await got;
  t.deepEqual(inv[4], [1, 12345678901234567890n, 'text with "quotes" and ] brackets', { nested: [1000, -0.5, null] }]);
  t.deepEqual(inv[5], { unit: '°C', n: 1.5 });
  await Promise.all([callee.destroy(), caller.destroy()]);
});

test('CBOR publisher: a CBOR subscriber gets the payload octets as published, a MsgPack one the values', async (t) => {
  const cborSub = await open('websocket', 'cbor');
  const msgpackSub = await open('rawsocket', 'msgpack');
  const publisher = await open('rawsocket', 'cbor');
  await cborSub.subscribe('pass.topic');
  await msgpackSub.subscribe('pass.topic');
  // Arguments: [1 written as an 8-octet integer, a 100-character string]. A re-encoding would
  // write 1 in one octet.
  const args = Buffer.concat([Buffer.from([0x82, 0x1b, 0, 0, 0, 0, 0, 0, 0, 1, 0x78, 100]), Buffer.alloc(100, 0x61)]);
  const publish = Buffer.concat([Buffer.from([0x85, 0x10, 0x01, 0xa0, 0x6a]), Buffer.from('pass.topic'), args]);
  const event = nextFrame(cborSub);
  const values = msgpackSub.next((m) => m[0] === 36);
  publisher.sendFrame(publish);
  const frame = await event;
  t.true(frame.subarray(frame.length - args.length).equals(args), frame.toString('hex'));
  t.deepEqual((await values)[4], [1, 'a'.repeat(100)]);
  await Promise.all([cborSub.destroy(), msgpackSub.destroy(), publisher.destroy()]);
});

test('RawSocket/CBOR: a 1 MiB argument reaches the callee and a 1 MiB result the caller byte for byte', async (t) => {
  const callee = await open('rawsocket', 'cbor');
  const caller = await open('rawsocket', 'cbor');
  await callee.register('pass.big');
  // One byte string and one text string with multi-byte characters, 1 MiB together.
  const bytes = Buffer.alloc(600_000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
  const text = 'größer ✓ '.repeat(40_000);
  const args = Buffer.concat([
    Buffer.from([0x82, 0x5a]),
    Buffer.from(Uint32Array.of(bytes.length).buffer).reverse(),
    bytes,
    Buffer.from([0x7a]),
    Buffer.from(Uint32Array.of(Buffer.byteLength(text)).buffer).reverse(),
    Buffer.from(text),
  ]);
  const invocation = nextFrame(callee);
  caller.sendFrame(Buffer.concat([Buffer.from([0x85, 0x18, 48, 0x07, 0xa0, 0x68]), Buffer.from('pass.big'), args]));
  const inv = await invocation;
  t.true(inv.subarray(inv.length - args.length).equals(args));
  const [, request] = cbor.decode(inv) as unknown[];
  const result = nextFrame(caller);
  const head = Buffer.from(cbor.encode([70, request, {}]));
  head[0] = 0x84; // and the arguments follow
  callee.sendFrame(Buffer.concat([head, args]));
  const res = await result;
  t.deepEqual([...res.subarray(0, 4)], [0x84, 0x18, 50, 0x07]);
  t.true(res.subarray(res.length - args.length).equals(args));
  await Promise.all([callee.destroy(), caller.destroy()]);
});
