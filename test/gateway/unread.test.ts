// A client that asks the gateway for a large answer and never reads it must not make the
// router hold that answer: once it has not taken the answer within limits.slowConsumerTimeoutMs
// (as a WAMP session that does not read), its connection is cut and the memory freed. On the
// node:http listener (the uWS one is http-exchange's own).

import test from 'ava';
import net from 'node:net';
import { openSession, type OpenSession } from '../interop/support/autobahn-js.ts';
import { startGatewayRouter, until, type GatewayRouter } from './support.ts';

const SIZE = 10_000_000;
const WRITE_TIMEOUT_MS = 2000;

let g: GatewayRouter;
let callee: OpenSession;

test.before(async () => {
  g = await startGatewayRouter({
    config: {
      realms: [{ uri: 'realm1', anonymous: true }],
      limits: { slowConsumerTimeoutMs: WRITE_TIMEOUT_MS },
      gateway: {
        apis: [
          {
            name: 'u',
            realm: 'realm1',
            basePath: '/u',
            routes: [
              { method: 'POST', path: '/big', call: 'com.u.big' },
              { method: 'POST', path: '/echo', call: 'com.u.echo' },
            ],
          },
        ],
      },
    },
  });
  callee = await openSession({ type: 'websocket', url: g.router.wsUrl }, 'callee', 'realm1');
  await callee.session.register('com.u.big', () => 'x'.repeat(SIZE));
  await callee.session.register('com.u.echo', (args) => args[0]);
});

test.after.always(async () => {
  await callee?.close();
  await g?.stop();
});

test('an answer the client does not take in time: its connection is cut; others are served', async (t) => {
  const port = Number(new URL(g.base).port);
  const s = net.connect(port, '127.0.0.1');
  let received = 0;
  let ended = false;
  s.on('error', () => {});
  s.on('end', () => (ended = true));
  s.on('close', () => (ended = true));
  await new Promise((resolve) => s.once('connect', resolve));
  // Keep-alive (HTTP/1.1): had the server sent it all, the connection would stay open.
  s.write('POST /u/big HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
  // Not reading: the kernel's buffers take a part; the rest waits in the router.
  s.pause();
  await new Promise((r) => setTimeout(r, WRITE_TIMEOUT_MS + 2000));
  // Reading now: the connection was reset (what the kernel held is dropped); never the whole answer.
  s.on('data', (d: Buffer) => (received += d.length));
  s.resume();
  await until(() => ended, 10_000, 'the server closed the connection');
  t.true(received < SIZE, `received ${received} of ${SIZE}`);
  s.destroy();

  const r = await fetch(`${g.base}/u/echo`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"ok":1}',
  });
  t.is(r.status, 200);
  t.is(await r.text(), '{"args":[{"ok":1}],"kwargs":{}}');
});

test('a client that reads its large answer at once gets it whole', async (t) => {
  const r = await fetch(`${g.base}/u/big`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  t.is(r.status, 200);
  t.is((await r.text()).length, SIZE + '{"args":[""],"kwargs":{}}'.length);
});
