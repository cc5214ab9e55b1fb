// Payload Passthru Mode: one binary argument the router must not touch, and the ppt_* options
// carried into the receivers' Details, across serializers. Raw frames (Autobahn|Python 22.7.1
// knows only the older enc_algo form), decoded here with this suite's own codecs, plus
// Autobahn subscribers as a second, foreign decoder of the bytes.

import { randomBytes } from 'node:crypto';
import test from 'ava';
import { bytesOf } from './support/codecs.ts';
import {
  T,
  isCallAnswer,
  plainRoles,
  rawCall,
  rawJoin,
  rawRegister,
  rawSubscribe,
  type Dict,
  type Msg,
  type RawPeer,
} from './support/raw.ts';
import { fixture, uniquePrefix, until } from './support/suite.ts';

const realms = ['ppt.pubsub', 'ppt.rpc', 'ppt.negotiation'];
const fx = fixture(realms.map((uri) => ({ uri })));
test.after.always('stop agent and router', () => fx.close());

// Every byte value, then random bytes: NULs, bytes that look like CBOR/MsgPack headers, and
// invalid UTF-8 all included.
const payload = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(2048)]);
const ppt = {
  ppt_scheme: 'x_wampmesh_test',
  ppt_serializer: 'cbor',
  ppt_cipher: 'xsalsa20poly1305',
  ppt_keyid: '0x6a0e2f1cBbB6B1a0d1bd7F5a7f6c2A1c9e3F4b21',
};

function sameBytes(t: { true(v: boolean, m?: string): void }, actual: unknown, expected: Buffer, what: string): void {
  const bytes = bytesOf(actual);
  t.true(
    bytes !== undefined,
    `${what}: not a byte string but ${typeof actual} ${JSON.stringify(actual)?.slice(0, 80)}`,
  );
  if (bytes !== undefined)
    t.true(
      bytes.equals(expected),
      `${what}: ${bytes.length} bytes, differ first at ${bytes.findIndex((b, i) => b !== expected[i])}`,
    );
}

async function raw(
  realm: string,
  transport: 'websocket' | 'rawsocket',
  serializer: 'json' | 'msgpack' | 'cbor',
  roles?: Dict,
): Promise<RawPeer> {
  return rawJoin((await fx.get()).router, { realm, transport, serializer, ...(roles && { roles }) });
}

test(
  "payload passthru: a CBOR publisher's binary payload reaches JSON, MsgPack and CBOR subscribers " +
    'byte for byte with its ppt_* details [payload_passthru_mode]',
  async (t) => {
    const { agent } = await fx.get();
    const realm = 'ppt.pubsub';
    const topic = `${uniquePrefix('ppt')}.sealed`;
    const subs = {
      json: await raw(realm, 'websocket', 'json'),
      msgpack: await raw(realm, 'rawsocket', 'msgpack'),
      cbor: await raw(realm, 'websocket', 'cbor'),
    };
    const subIds: Record<string, number> = {};
    for (const [name, s] of Object.entries(subs)) subIds[name] = await rawSubscribe(s, topic);
    const pyJson = await agent.connect('ppt-json', { realm, transport: 'ws', serializer: 'json' });
    const pyMsgpack = await agent.connect('ppt-msgpack', { realm, transport: 'rs', serializer: 'msgpack' });
    const pySubs = [
      [pyJson, await pyJson.subscribe(topic)],
      [pyMsgpack, await pyMsgpack.subscribe(topic)],
    ] as const;

    const pub = await raw(realm, 'rawsocket', 'cbor');
    pub.c.send([T.PUBLISH, 1, { acknowledge: true, ...ppt }, topic, [payload]]);
    const ack = await pub.c.next((m) => (m[0] === T.PUBLISHED && m[1] === 1) || (m[0] === T.ERROR && m[2] === 1));
    t.is(ack[0], T.PUBLISHED, JSON.stringify(ack));
    for (const [name, s] of Object.entries(subs)) {
      const ev = await s.c.next((m) => m[0] === T.EVENT);
      t.is(ev[1], subIds[name], name);
      t.deepEqual(ev[3], ppt, `${name}: EVENT.Details carries exactly the ppt_* options`);
      t.is(ev.length, 5, `${name}: no ArgumentsKw`);
      t.is((ev[4] as unknown[]).length, 1, `${name}: one argument`);
      sameBytes(t, (ev[4] as unknown[])[0], payload, name);
    }
    for (const [s, subId] of pySubs) {
      await until(() => s.eventsOn(subId).length === 1, `${s.name} got the event`);
      sameBytes(t, (s.eventsOn(subId)[0]!.args as unknown[])[0], payload, `Autobahn ${s.name}`);
    }
    for (const p of [...Object.values(subs), pub]) await p.c.destroy();
  },
);

test('payload passthru: CALL, INVOCATION, YIELD, RESULT and ERROR keep the payload and ppt_* across serializers [payload_passthru_mode]', async (t) => {
  const realm = 'ppt.rpc';
  const proc = `${uniquePrefix('ppt')}.rpc`;
  const callee = await raw(realm, 'websocket', 'msgpack');
  await rawRegister(callee, proc);
  for (const [transport, serializer] of [
    ['rawsocket', 'cbor'],
    ['websocket', 'json'],
  ] as const) {
    const caller = await raw(realm, transport, serializer);
    const req = rawCall(caller, proc, { ...ppt }, [payload]);
    const inv = await callee.c.next((m) => m[0] === T.INVOCATION);
    t.deepEqual(inv[3], ppt, `${serializer} caller: INVOCATION.Details`);
    sameBytes(t, (inv[4] as unknown[])[0], payload, `${serializer} caller -> msgpack callee`);
    const reply = Buffer.from(payload).reverse();
    const replyPpt = { ...ppt, ppt_keyid: 'reply-key' };
    callee.c.send([T.YIELD, inv[1], replyPpt, [reply]]);
    const result = await caller.c.next(isCallAnswer(req));
    t.deepEqual([result[0], result[2]], [T.RESULT, replyPpt], `${serializer}: RESULT.Details`);
    sameBytes(t, (result[3] as unknown[])[0], reply, `msgpack callee -> ${serializer} caller`);

    const req2 = rawCall(caller, proc, { ...ppt }, [payload]);
    const inv2 = await callee.c.next((m) => m[0] === T.INVOCATION);
    callee.c.send([T.ERROR, T.INVOCATION, inv2[1], replyPpt, `${proc}.error`, [reply]]);
    const err = await caller.c.next(isCallAnswer(req2));
    t.deepEqual([err[0], err[3], err[4]], [T.ERROR, replyPpt, `${proc}.error`], `${serializer}: ERROR.Details`);
    sameBytes(t, (err[5] as unknown[])[0], reply, `ERROR payload to ${serializer}`);
    await caller.c.destroy();
  }
  await callee.c.destroy();
});

test('payload passthru: peers that did not announce it are refused as the spec requires [payload_passthru_mode]', async (t) => {
  // Spec: a CALL or PUBLISH with payload passthru from a peer that did not announce the feature
  // "MUST be treated as PROTOCOL ERRORS" (ABORT wamp.error.protocol_violation); a CALL with it
  // routed to a Callee which doesn't support it -> ERROR wamp.error.feature_not_supported.
  const { agent } = await fx.get();
  const realm = 'ppt.negotiation';
  const P = uniquePrefix('ppt');
  const problems: string[] = [];
  const py = await agent.connect('ppt-plain-callee', { realm, transport: 'ws', serializer: 'cbor' }); // announces no payload_passthru_mode
  await py.register(`${P}.autobahn`);
  const caller = await raw(realm, 'rawsocket', 'cbor');
  const req = rawCall(caller, `${P}.autobahn`, { ...ppt }, [payload]);
  const answer = await caller.c.next(isCallAnswer(req));
  if (answer[0] !== T.ERROR || answer[4] !== 'wamp.error.feature_not_supported')
    problems.push(
      `CALL with ppt to a callee without the feature answered ${describe(answer)}, expected ERROR wamp.error.feature_not_supported`,
    );

  const rawCallee = await raw(realm, 'websocket', 'json');
  await rawRegister(rawCallee, `${P}.raw`);
  rawCallee.c.serveEcho();
  for (const [what, send] of [
    ['CALL', (p: RawPeer) => rawCall(p, `${P}.raw`, { ...ppt }, [payload])],
    ['PUBLISH', (p: RawPeer) => p.c.send([T.PUBLISH, 1, { acknowledge: true, ...ppt }, `${P}.t`, [payload]])],
  ] as const) {
    const plain = await raw(realm, 'rawsocket', 'cbor', plainRoles);
    send(plain);
    const reply = await plain.c.next(() => true).catch((e: Error) => [`no answer: ${e.message}`] as Msg);
    if (reply[0] !== T.ABORT || reply[2] !== 'wamp.error.protocol_violation')
      problems.push(
        `${what} with ppt from a peer that did not announce payload_passthru_mode answered ${describe(reply)}, expected ABORT wamp.error.protocol_violation`,
      );
    await plain.c.destroy();
  }
  t.deepEqual(problems, []);
  await caller.c.destroy();
  await rawCallee.c.destroy();
});

function describe(m: Msg): string {
  return JSON.stringify(m, (_k, v: unknown) =>
    v instanceof Uint8Array || (typeof v === 'object' && v !== null && (v as { type?: string }).type === 'Buffer')
      ? '<bytes>'
      : v,
  );
}
