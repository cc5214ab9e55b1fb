// 100,000-deep nesting in each serializer: recursive decoders and encoders overflow the stack
// on such input. The router must answer (ABORT, or an ERROR for the call) and keep serving;
// a RangeError escaping into the event loop would take every session down with it.

import test from 'ava';
import type { SerializerName } from '../../src/serializers/index.ts';
import { connect, within, type TransportKind } from '../helpers/raw-client.ts';
import { servedRouter } from '../helpers/served-router.ts';

const DEPTH = 100_000;

// A 100,000-deep HELLO is larger than the limit before login (README, "Limits before login"),
// which would refuse it unread; here the limit is raised so the parser itself meets the depth.
const fx = servedRouter(test, { limits: { preAuthMaxMessageSize: 16 * 1024 * 1024 } }, { checkAfterEach: true });

/**
 * CALL [48, 1, {}, procedure, [<DEPTH nested lists>]] or the same depth of dicts {"a": {...}}
 * in the kwargs, hand-encoded: our own encoders would overflow building it.
 */
function deepCall(serializer: SerializerName, procedure: string, kind: 'list' | 'dict'): Uint8Array {
  const proc = Buffer.from(procedure, 'utf8');
  switch (serializer) {
    case 'json': {
      const inner =
        kind === 'list' ? '['.repeat(DEPTH) + ']'.repeat(DEPTH) : '{"a":'.repeat(DEPTH) + '{}' + '}'.repeat(DEPTH);
      return Buffer.from(
        kind === 'list'
          ? `[48,1,{},${JSON.stringify(procedure)},[${inner}]]`
          : `[48,1,{},${JSON.stringify(procedure)},[],{"k":${inner}}]`,
      );
    }
    case 'msgpack': {
      // fixarray(1) = 0x91, empty fixarray 0x90; fixmap(1) 0x81 + fixstr "a" (0xa1 0x61), empty 0x80.
      const nest =
        kind === 'list'
          ? Buffer.concat([Buffer.alloc(DEPTH, 0x91), Buffer.of(0x90)])
          : Buffer.concat([
              Buffer.from(Array.from({ length: DEPTH }, () => [0x81, 0xa1, 0x61]).flat()),
              Buffer.of(0x80),
            ]);
      const head =
        kind === 'list'
          ? Buffer.of(0x95, 0x30, 0x01, 0x80, 0xa0 | proc.length, ...proc, 0x91)
          : Buffer.of(0x96, 0x30, 0x01, 0x80, 0xa0 | proc.length, ...proc, 0x90, 0x81, 0xa1, 0x6b);
      return Buffer.concat([head, nest]);
    }
    case 'cbor': {
      // array(1) = 0x81, empty 0x80; map(1) 0xa1 + text "a" (0x61 0x61), empty 0xa0.
      const nest =
        kind === 'list'
          ? Buffer.concat([Buffer.alloc(DEPTH, 0x81), Buffer.of(0x80)])
          : Buffer.concat([
              Buffer.from(Array.from({ length: DEPTH }, () => [0xa1, 0x61, 0x61]).flat()),
              Buffer.of(0xa0),
            ]);
      const head =
        kind === 'list'
          ? Buffer.of(0x85, 0x18, 0x30, 0x01, 0xa0, 0x60 | proc.length, ...proc, 0x81)
          : Buffer.of(0x86, 0x18, 0x30, 0x01, 0xa0, 0x60 | proc.length, ...proc, 0x80, 0xa1, 0x61, 0x6b);
      return Buffer.concat([head, nest]);
    }
  }
}

for (const transport of ['rawsocket', 'websocket'] as const satisfies readonly TransportKind[]) {
  for (const serializer of ['json', 'msgpack', 'cbor'] as const) {
    for (const kind of ['list', 'dict'] as const) {
      test.serial(
        `${transport}/${serializer}: a ${DEPTH}-deep ${kind} is answered and the router survives`,
        async (t) => {
          const client = await connect({
            transport,
            serializer,
            port: fx.router.rawsocketPort,
            url: fx.router.wsUrl,
            websocketImpl: 'net',
          });
          await client.join();
          const frame = deepCall(serializer, fx.service.procedure, kind);
          client.sendFrame(frame);
          // Any answer will do: ABORT (undecodable), or ERROR for the call (e.g. the payload cannot
          // be re-encoded for the callee). A RESULT would mean the echo went through untouched.
          const reply = await client.next(
            (m) => m[0] === 3 || (m[0] === 8 && m[2] === 1) || (m[0] === 50 && m[1] === 1),
            10_000,
          );
          t.log(`${frame.length} octets -> ${JSON.stringify(reply).slice(0, 200)}`);
          t.true([3, 8, 50].includes(reply[0] as number));
          if (reply[0] === 3) {
            t.is(reply[2], 'wamp.error.protocol_violation');
            await within(client.closed, 3_000, 'closed after ABORT');
          }
          await client.destroy();
        },
      );
    }
  }
}

test.serial(`json: a ${DEPTH}-deep HELLO.Details value is answered and the router survives`, async (t) => {
  // Details are kept for the session's lifetime (meta API, authextra): deep values must not
  // break anything that later walks or re-encodes them.
  const meta = await connect({ transport: 'rawsocket', serializer: 'json', port: fx.router.rawsocketPort });
  await meta.join();
  await meta.subscribe('wamp.session.on_join');
  const client = await connect({ transport: 'rawsocket', serializer: 'json', port: fx.router.rawsocketPort });
  const deep = '['.repeat(DEPTH) + ']'.repeat(DEPTH);
  client.sendFrame(Buffer.from(`[1,"realm1",{"roles":{"caller":{}},"authextra":{"deep":${deep}},"x_deep":${deep}}]`));
  const reply = await client.next((m) => m[0] === 2 || m[0] === 3, 10_000);
  t.log(JSON.stringify(reply).slice(0, 200));
  t.true(reply[0] === 2 || (reply[0] === 3 && reply[2] === 'wamp.error.protocol_violation'));
  await client.destroy();
  await meta.destroy();
});

test.serial(
  `json: a ${DEPTH}-deep publication to retain is refused, a testament is delivered unkept when the session is lost: the router survives`,
  async (t) => {
    // Regression (found by test/hostile/fuzz-*.test.ts): the event store could not encode the
    // testament (stack overflow), and the error escaped from the session's close, which the
    // transport reports from a socket event: an uncaught exception that ended the router.
    const deep = '['.repeat(DEPTH) + ']'.repeat(DEPTH);
    for (const transport of ['rawsocket', 'websocket'] as const) {
      const client = await connect({
        transport,
        serializer: 'json',
        port: fx.router.rawsocketPort,
        url: fx.router.wsUrl,
      });
      await client.join();
      client.sendFrame(
        Buffer.from(
          `[48,1,{},"wamp.session.add_testament",["com.deep.testament",[${deep}]],{"publish_options":{"retain":true}}]`,
        ),
      );
      const reply = await client.next((m) => (m[0] === 50 || m[0] === 8) && (m[1] === 1 || m[2] === 1), 10_000);
      t.is(reply[0], 50, JSON.stringify(reply).slice(0, 200));
      // And a publication to retain, acknowledged: refused, since it cannot be kept (an
      // acknowledged publication must not be lost), and the session stays.
      client.sendFrame(Buffer.from(`[16,2,{"acknowledge":true,"retain":true},"com.deep.topic",[${deep}]]`));
      const refused = await client.next((m) => m[0] === 17 || m[0] === 8 || m[0] === 3, 10_000);
      t.deepEqual(refused.slice(0, 3), [8, 16, 2], JSON.stringify(refused).slice(0, 200));
      t.is(refused[4], 'wamp.error.invalid_argument');
      await client.destroy();
      // The lost session's testament is published now; afterEach checks the process lives and serves.
      await fx.service.assertServing();
    }
  },
);
