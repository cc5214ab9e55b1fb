// Anonymous requests only where the realm admits anonymous sessions from the client's address:
// a realm with anonymousFrom "loopback" refuses a request from another address with 401 and
// WWW-Authenticate, and serves it from loopback; "anywhere" serves both. Real HTTP against an
// in-process router, reached over this machine's non-loopback address (skipped without one).

import test from 'ava';
import os from 'node:os';
import { Gateway } from '../../src/gateway/gateway.ts';
import { parseApiSpec } from '../../src/gateway/spec.ts';
import { Router } from '../../src/router/router.ts';
import { listenHttp } from '../../src/transport/http-server.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';

const external = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;

for (const anonymousFrom of ['loopback', 'anywhere'] as const) {
  (external === undefined ? test.skip : test)(`anonymousFrom ${anonymousFrom}`, async (t) => {
    const router = new Router({ realms: [{ uri: 'realm1', anonymous: true, anonymousFrom }] });
    const spec = parseApiSpec({
      name: 'a',
      realm: 'realm1',
      basePath: '/a',
      routes: [{ method: 'GET', path: '/ping', call: 'com.a.ping' }],
    });
    const gateway = new Gateway({ acceptor: router, specs: () => ({ version: 1, specs: [spec] }) });
    const http = await listenHttp({ host: '0.0.0.0', port: 0 }, () => ({ status: 404, headers: {}, body: '' }), {
      routes: [gateway.route],
    });
    const callee = new MemoryClient(router);
    callee.join('realm1');
    callee.send([64, 1, {}, 'com.a.ping']);
    const answering = setInterval(() => {
      for (const m of callee.take()) if (m[0] === 68) callee.send([70, m[1], {}, ['pong']]);
    }, 5);
    t.teardown(async () => {
      clearInterval(answering);
      gateway.stop();
      await http.close();
    });
    const local = await fetch(`http://127.0.0.1:${http.port}/a/ping`);
    t.is(local.status, 200);
    const remote = await fetch(`http://${external}:${http.port}/a/ping`);
    if (anonymousFrom === 'anywhere') {
      t.is(remote.status, 200);
    } else {
      t.is(remote.status, 401);
      t.regex(remote.headers.get('www-authenticate') ?? '', /Bearer realm="realm1"/);
      t.is(((await remote.json()) as { error: string }).error, 'wamp.error.no_auth_method');
    }
  });
}
