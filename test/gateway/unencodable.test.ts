// Callee answers and publications the gateway cannot write for its HTTP client (an integer
// beyond 64 bits asked for as MessagePack, values nested deeper than an encoder's stack) and
// integers beyond 2^53 that it can, against a real router process: the client gets an error
// naming why, the callee and the publisher are left alone, the request's slot comes back, and
// the router keeps serving. The callee and publisher are raw WAMP clients sending JSON text, so
// the values reach the router exactly as written.

import test, { type ExecutionContext } from 'ava';
import { Unpackr } from 'msgpackr';
import { connect, type RawClient } from '../helpers/raw-client.ts';
import { startGatewayRouter, until, type GatewayRouter } from './support.ts';

const API = {
  name: 'v',
  realm: 'realm1',
  basePath: '/v',
  timeoutMs: 3000,
  routes: [
    { method: 'POST', path: '/answer', call: 'com.v.answer', result: 'first' },
    { method: 'POST', path: '/steps', call: 'com.v.answer', progress: true },
    { method: 'POST', path: '/pub/{k}', publish: 'com.v.ev.{path.k}' },
    { method: 'GET', path: '/live', subscribe: 'com.v.ev.', match: 'prefix' },
  ],
};

// Deep enough that JSON.stringify and msgpackr run out of stack, shallow enough for the
// router's own JSON.parse (about 40 KB of text).
const DEPTH = 20_000;
const DEEP = `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`;
const BEYOND_64_BITS = '123456789012345678901234567890123';
const UNREPRESENTABLE = /^wampmesh\.error\.unencodable$/;

let g: GatewayRouter;
let callee: RawClient;
let calleeAborted = false;

/** The callee's YIELDs for an invocation whose first argument names what to answer. */
function yieldsFor(request: number, kind: unknown): string[] {
  switch (kind) {
    case 'deep':
      return [`[70,${request},{},[${DEEP}]]`];
    case 'deep-progress':
      return [`[70,${request},{"progress":true},[${DEEP}]]`, `[70,${request},{},["done"]]`];
    case 'huge':
      return [`[70,${request},{},[${BEYOND_64_BITS}]]`];
    case 'int64':
      // 2^60 + 1: beyond 2^53, within 64 bits.
      return [`[70,${request},{},[1152921504606846977]]`];
    default:
      return [`[70,${request},{},[${JSON.stringify(kind)}]]`];
  }
}

test.before(async () => {
  g = await startGatewayRouter({
    config: { realms: [{ uri: 'realm1', anonymous: true }], gateway: { maxInFlight: 2, apis: [API] } },
  });
  callee = await connect({ transport: 'websocket', url: g.router.wsUrl, serializer: 'json' });
  await callee.join('realm1');
  await callee.register('com.v.answer');
  void callee.closed.then(() => (calleeAborted = true));
  void (async () => {
    for (;;) {
      const inv = await callee.next((m) => m[0] === 68, 600_000).catch(() => undefined);
      if (inv === undefined) return;
      const kind = (inv[4] as unknown[] | undefined)?.[0];
      for (const frame of yieldsFor(inv[1] as number, kind)) callee.sendFrame(frame);
    }
  })();
});

test.after.always(async () => {
  await callee?.destroy();
  await g?.stop();
});

const post = (path: string, body: unknown, accept = 'application/json'): Promise<Response> =>
  fetch(`${g.base}/v${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept },
    body: JSON.stringify(body),
    // Past the route's timeout (3 s): no answer by then is a request left hanging.
    signal: AbortSignal.timeout(8000),
  });

/** The router, its callee and the gateway all still answer. */
async function stillServing(t: ExecutionContext): Promise<void> {
  t.is((await fetch(`${g.base}/healthz`)).status, 200, 'the router answers');
  const r = await post('/answer', 'ping');
  t.is(r.status, 200, 'the callee answers through the gateway');
  t.is(await r.text(), '"ping"');
  t.false(calleeAborted, 'the callee was not disconnected');
}

test.serial('an answer too deep for JSON: 502 naming why, callee left alone', async (t) => {
  const r = await post('/answer', 'deep');
  t.is(r.status, 502);
  const body = (await r.json()) as { error: string; args: string[] };
  t.regex(body.error, UNREPRESENTABLE);
  t.regex(body.args[0]!, /cannot be written as application\/json/);
  await stillServing(t);
});

test.serial(
  'MessagePack: a 64-bit integer arrives exact; one beyond 64 bits is 502; every slot comes back',
  async (t) => {
    const exact = await post('/answer', 'int64', 'application/msgpack');
    t.is(exact.status, 200);
    const unpackr = new Unpackr({ int64AsType: 'bigint', mapsAsObjects: true });
    t.is(unpackr.unpack(Buffer.from(await exact.arrayBuffer())), 1152921504606846977n);
    // More bad answers than the gateway has in-flight slots (2): a slot kept by any of them
    // would make the good request after them 503.
    for (let i = 0; i < 5; i++) {
      const r = await post('/answer', i % 2 === 0 ? 'huge' : 'deep', 'application/msgpack');
      t.is(r.status, 502, `bad answer ${i}`);
      const bytes = Buffer.from(await r.arrayBuffer());
      const body = unpackr.unpack(bytes) as { error: string; args: string[] };
      t.regex(body.error, UNREPRESENTABLE);
      t.regex(body.args[0]!, /cannot be written as application\/msgpack/);
    }
    // JSON writes the same integer exactly.
    const json = await post('/answer', 'huge');
    t.is(json.status, 200);
    t.is(await json.text(), BEYOND_64_BITS);
    await stillServing(t);
  },
);

test.serial('progressive results too deep for JSON: an error line, the router and callee unharmed', async (t) => {
  // The final result: written in a promise reaction, where a throw ended the router process.
  const last = await post('/steps', 'deep', 'application/x-ndjson');
  t.is(last.status, 200);
  const lines = (await last.text()).trim().split('\n');
  t.is(lines.length, 1);
  t.regex((JSON.parse(lines[0]!) as { error: string }).error, UNREPRESENTABLE);
  // A progressive result: written while the router routes the callee's YIELD.
  const chunk = await post('/steps', 'deep-progress', 'application/x-ndjson');
  t.is(chunk.status, 200);
  const chunkLines = (await chunk.text()).trim().split('\n');
  t.is(chunkLines.length, 1);
  const failure = JSON.parse(chunkLines[0]!) as { error: string; args: string[] };
  t.regex(failure.error, UNREPRESENTABLE);
  t.regex(failure.args[0]!, /cannot be written as JSON/);
  // An integer beyond 2^53 is written exactly, as in a single answer.
  const big = await post('/steps', 'huge', 'application/x-ndjson');
  t.is((await big.text()).trim(), `{"args":[${BEYOND_64_BITS}],"kwargs":{}}`);
  await stillServing(t);
});

test.serial(
  'event streams: integers beyond 2^53 arrive exact; an event too deep is an error event on that stream alone',
  async (t) => {
    const ac = new AbortController();
    t.teardown(() => ac.abort());
    const stream = await fetch(`${g.base}/v/live`, { signal: ac.signal });
    t.is(stream.status, 200);
    const reader = stream.body!.getReader();
    let text = '';
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        text += Buffer.from(value!).toString();
      }
    })();
    // From HTTP: the publication is acknowledged (it was 502 "the session ended").
    const raw = await fetch(`${g.base}/v/pub/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"n":123456789012345678901234567890}',
    });
    t.is(raw.status, 202);
    // From WAMP: the publisher gets PUBLISHED (it was ABORTed, protocol_violation).
    const publisher = await connect({ transport: 'websocket', url: g.router.wsUrl, serializer: 'json' });
    t.teardown(() => void publisher.destroy());
    await publisher.join('realm1');
    publisher.sendFrame('[16,1,{"acknowledge":true},"com.v.ev.y",[123456789012345678901234567890]]');
    t.is((await publisher.next((m) => m[0] === 17 || m[0] === 8 || m[0] === 3))[0], 17);
    publisher.sendFrame(`[16,2,{"acknowledge":true},"com.v.ev.z",[${DEEP}]]`);
    t.is((await publisher.next((m) => m[0] === 17 || m[0] === 8 || m[0] === 3))[0], 17);
    publisher.sendFrame('[16,3,{"acknowledge":true},"com.v.ev.w",["after"]]');
    t.is((await publisher.next((m) => m[0] === 17 || m[0] === 8 || m[0] === 3))[0], 17);
    await until(() => text.includes('"after"'), 5000, 'the event after the deep one');
    t.true(text.includes('data: {"topic":"com.v.ev.x","args":[{"n":123456789012345678901234567890}],"kwargs":{}}'));
    t.true(text.includes('data: {"topic":"com.v.ev.y","args":[123456789012345678901234567890],"kwargs":{}}'));
    t.regex(text, /id: \d+\nevent: unencodable\ndata: \{"error":"wampmesh\.error\.unencodable"/);
    t.false(publisher.isClosed, 'the publisher is still connected');
    await stillServing(t);
  },
);
