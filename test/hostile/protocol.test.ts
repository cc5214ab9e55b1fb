// Hostile input at the WAMP layer, against the real router process, over both transports:
// undecodable frames, messages out of order, unknown realms and types, wrongly typed fields,
// IDs out of range, stray YIELDs. The rule (spec "Protocol Violations"): the offending session
// gets ABORT wamp.error.protocol_violation (or the specific reason) and is closed; everyone
// else is unaffected, which a fresh client checks after every case.

import test, { type ExecutionContext } from 'ava';
import { serializers, type SerializerName } from '../../src/serializers/index.ts';
import { connect, within, type RawClient, type TransportKind } from '../helpers/raw-client.ts';
import { servedRouter } from '../helpers/served-router.ts';

const fx = servedRouter(test, {}, { checkAfterEach: true });

const TRANSPORTS: readonly TransportKind[] = ['rawsocket', 'websocket'];
const SERIALIZERS: readonly SerializerName[] = ['json', 'msgpack', 'cbor'];
const PV = 'wamp.error.protocol_violation';
const CLIENT_ROLES = { roles: { caller: {}, callee: {}, publisher: {}, subscriber: {} } };

function open(transport: TransportKind, serializer: SerializerName): Promise<RawClient> {
  // The 'net' WebSocket client can put any bytes in a text frame (invalid JSON, not UTF-8).
  return connect({ transport, serializer, port: fx.router.rawsocketPort, url: fx.router.wsUrl, websocketImpl: 'net' });
}

/** The next message is ABORT with `reason`, and then the router closes the connection. */
async function expectAbort(t: ExecutionContext, client: RawClient, reason: string, what: string): Promise<void> {
  let abort: unknown[] | undefined;
  try {
    abort = await client.next(undefined, 3_000);
  } catch (error) {
    t.fail(`${what}: no ABORT: ${String(error)}`);
    return;
  }
  t.is(abort[0], 3, `${what}: ABORT expected, got ${JSON.stringify(abort)}`);
  t.is(abort[2], reason, `${what}: reason (${JSON.stringify(abort[1])})`);
  await within(client.closed, 3_000, `${what}: router closes after ABORT`).catch((e: unknown) => t.fail(String(e)));
  await client.destroy();
  // Every hostile case, not just every test, is followed by proof of service.
  await fx.service.assertServing();
}

// Per serializer: bytes that are not one valid message of it.
const UNDECODABLE: Record<SerializerName, readonly (readonly [string, Uint8Array])[]> = {
  json: [
    ['truncated', Buffer.from('[1,"realm1",')],
    ['trailing garbage', Buffer.from('[1,"realm1",{}]x')],
    ['not UTF-8', Uint8Array.of(0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d)],
    ['a dict, not a list', Buffer.from('{"1":"realm1"}')],
    ['empty list', Buffer.from('[]')],
    ['empty frame', new Uint8Array(0)],
  ],
  msgpack: [
    ['never-used type 0xc1', Uint8Array.of(0xc1)],
    ['truncated array', Uint8Array.of(0x93, 0x01)],
    ['trailing garbage', Uint8Array.of(0x91, 0x01, 0xff)],
    ['a number, not a list', Uint8Array.of(0x2a)],
    ['empty frame', new Uint8Array(0)],
  ],
  cbor: [
    ['lone break', Uint8Array.of(0xff)],
    ['reserved additional info 28', Uint8Array.of(0x1c)],
    ['truncated array', Uint8Array.of(0x83, 0x01)],
    ['trailing garbage', Uint8Array.of(0x81, 0x01, 0xff)],
    ['a number, not a list', Uint8Array.of(0x18, 0x2a)],
    ['empty frame', new Uint8Array(0)],
  ],
};

for (const transport of TRANSPORTS) {
  for (const serializer of SERIALIZERS) {
    test.serial(
      `${transport}/${serializer}: undecodable frames get ABORT protocol_violation, then close`,
      async (t) => {
        for (const [name, bytes] of UNDECODABLE[serializer]) {
          for (const joined of [false, true]) {
            const client = await open(transport, serializer);
            if (joined) await client.join();
            client.sendFrame(bytes);
            const what = `${name} (${joined ? 'after' : 'before'} HELLO)`;
            if (transport === 'websocket' && serializer === 'json' && name === 'not UTF-8') {
              // The WebSocket layer fails the connection first (RFC 6455 8.1); no WAMP reply.
              const info = await within(client.closed, 3_000, what);
              t.true(info.code === 1006 || info.code === 1007, `${what}: ${JSON.stringify(info)}`);
              await fx.service.assertServing();
              continue;
            }
            await expectAbort(t, client, PV, what);
          }
        }
      },
    );
  }
}

for (const transport of TRANSPORTS) {
  test.serial(`${transport}: session-state violations`, async (t) => {
    // CALL before HELLO.
    let c = await open(transport, 'json');
    c.send([48, 1, {}, fx.service.procedure, ['x']]);
    await expectAbort(t, c, PV, 'CALL before HELLO');

    // HELLO twice (spec: MUST close the session).
    c = await open(transport, 'cbor');
    await c.join();
    c.send([1, 'realm1', CLIENT_ROLES]);
    await expectAbort(t, c, PV, 'second HELLO');

    // Unknown realm.
    c = await open(transport, 'msgpack');
    c.send([1, 'no.such.realm', CLIENT_ROLES]);
    await expectAbort(t, c, 'wamp.error.no_such_realm', 'HELLO for an unknown realm');

    // HELLO without roles.
    c = await open(transport, 'json');
    c.send([1, 'realm1', {}]);
    await expectAbort(t, c, PV, 'HELLO without roles');

    // Router-to-client messages from a client.
    for (const [name, message] of [
      ['WELCOME', [2, 1, {}]],
      ['EVENT', [36, 1, 1, {}]],
      ['RESULT', [50, 1, {}]],
      ['INVOCATION', [68, 1, 1, {}]],
      ['SUBSCRIBED', [33, 1, 1]],
    ] as const) {
      c = await open(transport, 'json');
      await c.join();
      c.send([...message]);
      await expectAbort(t, c, PV, `${name} from a client`);
    }
  });

  test.serial(`${transport}: unknown message types`, async (t) => {
    for (const code of [0, 7, 37, 255, 999, 337, -1, 1.5]) {
      for (const joined of [false, true]) {
        const c = await open(transport, 'json');
        if (joined) await c.join();
        c.send([code, 1, {}]);
        await expectAbort(t, c, PV, `type ${code} ${joined ? 'after' : 'before'} HELLO`);
      }
    }
    for (const first of ['1', null, [1], { type: 1 }]) {
      const c = await open(transport, 'json');
      c.send([first, 'realm1', CLIENT_ROLES]);
      await expectAbort(t, c, PV, `type code ${JSON.stringify(first)}`);
    }
  });

  test.serial(`${transport}: wrongly typed fields`, async (t) => {
    const P = fx.service.procedure;
    const cases: readonly (readonly [string, unknown[]])[] = [
      ['HELLO realm not a string', [1, 5, CLIENT_ROLES]],
      ['HELLO details a list', [1, 'realm1', []]],
      ['CALL request a string', [48, '1', {}, P]],
      ['CALL options a list', [48, 1, [], P]],
      ['CALL options null', [48, 1, null, P]],
      ['CALL procedure a number', [48, 1, {}, 5]],
      ['CALL args a dict', [48, 1, {}, P, { a: 1 }]],
      ['CALL args a string', [48, 1, {}, P, 'x']],
      ['CALL kwargs a list', [48, 1, {}, P, [], []]],
      ['CALL too short', [48, 1, {}]],
      ['CALL too long', [48, 1, {}, P, [], {}, 'extra']],
      ['PUBLISH topic a dict', [16, 1, {}, { t: 1 }]],
      ['SUBSCRIBE options a string', [32, 1, 'x', 'a.topic']],
      ['REGISTER request null', [64, null, {}, 'a.proc']],
      ['YIELD request a list', [70, [1], {}]],
      ['ERROR request type unknown', [8, 99, 1, {}, 'a.error']],
      ['ERROR error a number', [8, 68, 1, {}, 5]],
      ['GOODBYE reason a number', [6, {}, 5]],
    ];
    for (const [name, message] of cases) {
      const c = await open(transport, name.startsWith('HELLO') ? 'msgpack' : 'cbor');
      if (!name.startsWith('HELLO')) await c.join();
      c.send(message);
      await expectAbort(t, c, PV, name);
    }
  });
}

// ---- IDs --------------------------------------------------------------------------------------

const PLACEHOLDER = 0x12345678; // encodes as exactly 4 big-endian octets in MsgPack and CBOR

/**
 * A CALL whose request ID is `id`, given as its decimal text: values JS numbers cannot hold
 * exactly (2^53+1, 2^64-1) are spliced into the encoding as raw 64-bit integers.
 */
function callWithRequestId(serializer: SerializerName, id: string, procedure: string): Uint8Array {
  const s = serializers.find((x) => x.name === serializer)!;
  const bytes = Buffer.from(s.encode([48, PLACEHOLDER, {}, procedure, ['id-probe']]));
  const big = BigInt(id);
  if (serializer === 'json') return Buffer.from(bytes.toString('utf8').replace(String(PLACEHOLDER), id));
  const at = bytes.indexOf(Buffer.from([0x12, 0x34, 0x56, 0x78])) - 1; // the type octet before it
  const typeOctet = bytes[at];
  if (!((serializer === 'msgpack' && typeOctet === 0xce) || (serializer === 'cbor' && typeOctet === 0x1a))) {
    throw new Error(`placeholder not found in ${bytes.toString('hex')}`);
  }
  let encoded: Buffer;
  if (big < 0n) {
    // Negative: MsgPack int64 (0xd3), CBOR major type 1 with 8-octet argument (-1 - n).
    encoded = Buffer.alloc(9);
    encoded[0] = serializer === 'msgpack' ? 0xd3 : 0x3b;
    if (serializer === 'msgpack') encoded.writeBigInt64BE(big, 1);
    else encoded.writeBigUInt64BE(-1n - big, 1);
  } else {
    encoded = Buffer.alloc(9);
    encoded[0] = serializer === 'msgpack' ? 0xcf : 0x1b;
    encoded.writeBigUInt64BE(big, 1);
  }
  return Buffer.concat([bytes.subarray(0, at), encoded, bytes.subarray(at + 5)]);
}

async function callWithIdAborts(
  t: ExecutionContext,
  transport: TransportKind,
  serializer: SerializerName,
  id: string,
): Promise<void> {
  const c = await open(transport, serializer);
  await c.join();
  c.sendFrame(callWithRequestId(serializer, id, fx.service.procedure));
  await expectAbort(t, c, PV, `request ID ${id}`);
}

for (const transport of TRANSPORTS) {
  for (const serializer of SERIALIZERS) {
    // Separate tests, so that one ID bug does not hide another.
    test.serial(`${transport}/${serializer}: request ID 2^53 (the largest valid ID) is accepted`, async (t) => {
      const c = await open(transport, serializer);
      await c.join();
      c.sendFrame(callWithRequestId(serializer, String(2 ** 53), fx.service.procedure));
      const reply = await c.next(undefined, 3_000);
      t.deepEqual(reply.slice(0, 2), [50, 2 ** 53], `got ${JSON.stringify(reply)}`);
      await c.destroy();
    });

    test.serial(
      `${transport}/${serializer}: request ID 2^53+1 is a protocol violation, not rounded to 2^53`,
      async (t) => {
        await callWithIdAborts(t, transport, serializer, '9007199254740993');
      },
    );

    test.serial(
      `${transport}/${serializer}: request IDs 0, negative, fractional, huge are protocol violations`,
      async (t) => {
        for (const id of ['0', '-1', '18446744073709551615', '-9007199254740993'])
          await callWithIdAborts(t, transport, serializer, id);
        for (const id of [1.5, 2 ** 53 + 2, Number.NaN, Number.POSITIVE_INFINITY]) {
          // JSON cannot carry NaN/Infinity; JSON.stringify writes null (also not an ID).
          const c = await open(transport, serializer);
          await c.join();
          c.send([48, id, {}, fx.service.procedure, ['id-probe']]);
          await expectAbort(t, c, PV, `request ID ${id}`);
        }
        // An ID in a field the router looks up: UNSUBSCRIBE with subscription 0.
        const c = await open(transport, serializer);
        await c.join();
        c.send([34, 1, 0]);
        await expectAbort(t, c, PV, 'UNSUBSCRIBE subscription 0');
      },
    );
  }
}

// ---- stray YIELD ------------------------------------------------------------------------------

for (const transport of TRANSPORTS) {
  test.serial(
    `${transport}: YIELD and ERROR for an unknown invocation are ignored; the session stays up`,
    async (t) => {
      const c = await open(transport, 'json');
      await c.join();
      c.send([70, 424242, {}, ['stray']]);
      c.send([70, 1, {}, ['never invoked']]);
      c.send([8, 68, 424243, {}, 'app.error']);
      // Messages are handled in order: if anything answered the strays, it arrives before this.
      const request = c.requestId();
      c.send([48, request, {}, fx.service.procedure, ['after the strays']]);
      const first = await c.next(undefined, 3_000);
      t.deepEqual(
        first,
        [50, request, {}, ['after the strays']],
        'the first reply is the call result: nothing answered the strays',
      );
      t.false(c.isClosed);
      await c.destroy();
    },
  );
}
