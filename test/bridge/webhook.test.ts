// The webhook bridge against real local HTTP servers: a 500 is retried until a 200, in order,
// each POST signed with HMAC-SHA256; a 400 is a dead letter that can be replayed; HTTP garbage
// and a server that never answers are errors the bridge reports and retries, while the router
// goes on serving.

import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { wampmeshBin } from '../helpers/router-process.ts';
import { until } from './mosquitto.ts';

const run = promisify(execFile);
import { publishAck, startWorld } from './world.ts';

interface Hit {
  body: string;
  headers: http.IncomingHttpHeaders;
}

async function server(
  answer: (hit: Hit, n: number) => number,
): Promise<{ url: string; hits: Hit[]; close(): Promise<void> }> {
  const hits: Hit[] = [];
  const s = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit = { body: Buffer.concat(chunks).toString(), headers: req.headers };
      hits.push(hit);
      res.statusCode = answer(hit, hits.length);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    hits,
    close: () =>
      new Promise((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  };
}

function secretFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wampmesh-hook-'));
  const file = path.join(dir, 'secret');
  fs.writeFileSync(file, 's3cret\n');
  return file;
}

const hook = (url: string, extra: Record<string, unknown> = {}) => ({
  name: 'erp',
  type: 'webhook',
  url,
  realm: 'realm1',
  retry: { initialMs: 20, maxMs: 100 },
  queue: { inflight: 1 },
  rules: [{ wamp: 'alarm.', match: 'prefix' }],
  ...extra,
});

test.serial('500 then 200: retried until accepted, in order, each body signed', async (t) => {
  // Every third POST fails with 500.
  const remote = await server((_h, n) => (n % 3 === 1 ? 500 : 200));
  const w = await startWorld([hook(remote.url, { hmacSecretFile: secretFile() })]);
  t.teardown(async () => {
    await w.stop();
    await remote.close();
  });
  const pub = await w.wamp();
  for (let i = 0; i < 10; i++) t.is((await publishAck(pub, 'alarm.fire', [i]))[0], 17);
  await until(() => w.status('erp').queue.depth === 0, 10_000, 'drained');
  const accepted = remote.hits.filter((_h, i) => (i + 1) % 3 !== 1).map((h) => JSON.parse(h.body).args[0]);
  t.deepEqual(accepted, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const first = remote.hits[0]!;
  const body = JSON.parse(first.body);
  t.is(body.topic, 'alarm.fire');
  t.is(body.realm, 'realm1');
  const expected = `sha256=${crypto.createHmac('sha256', 's3cret').update(first.body).digest('hex')}`;
  t.is(first.headers['x-wampmesh-signature'], expected);
  t.is(first.headers['x-wampmesh-event'], String(body.publication));
  const s = w.status('erp');
  t.true(s.counters.retries >= 4);
  t.is(s.counters.confirmed, 10);
  t.regex(s.lastError ?? '', /HTTP 500/);
});

test.serial(
  'a 400 is a dead letter: listed and replayed with `wampmesh bridge dead|replay`, then delivered',
  async (t) => {
    let refuse = true;
    const remote = await server((h) => (refuse && JSON.parse(h.body).args[0] === 'bad' ? 400 : 200));
    const w = await startWorld([hook(remote.url)]);
    t.teardown(async () => {
      await w.stop();
      await remote.close();
    });
    const pub = await w.wamp();
    await publishAck(pub, 'alarm.x', ['bad']);
    await publishAck(pub, 'alarm.x', ['good']);
    await until(() => w.status('erp').queue.depth === 0 && w.status('erp').queue.deadLetters === 1, 5000, 'settled');
    const cli = async (...args: string[]) =>
      JSON.parse((await run(wampmeshBin, ['bridge', ...args, '--data', w.dir])).stdout) as Record<string, unknown>;
    const dead = (await cli('dead', 'erp')) as {
      total: number;
      letters: { id: number; reason: string; topic: string }[];
    };
    t.is(dead.total, 1);
    t.regex(dead.letters[0]!.reason, /HTTP 400/);
    t.is(dead.letters[0]!.topic, 'alarm.x');
    t.is(w.status('erp').counters.deadLettered, 1);
    const unknown = await t.throwsAsync(run(wampmeshBin, ['bridge', 'dead', 'nope', '--data', w.dir]));
    t.regex((unknown as unknown as { stderr: string }).stderr, /no bridge named "nope" \(configured: erp\)/);
    refuse = false;
    t.deepEqual(await cli('replay', 'erp', '--id', String(dead.letters[0]!.id)), { replayed: 1 });
    const outbox = w.server.bridges!.outbox;
    await until(() => w.status('erp').counters.confirmed === 2, 5000, 'replayed');
    t.deepEqual(
      remote.hits.map((h) => JSON.parse(h.body).args[0]),
      ['bad', 'good', 'bad'],
    );
    t.is(outbox.deadLetters('erp', 10).total, 0);
  },
);

test.serial(
  'HTTP garbage and a server that never answers: errors reported, retried, the router serves on',
  async (t) => {
    // Answers every connection with bytes that are not HTTP.
    const garbage = net.createServer((s) => {
      s.on('data', () => s.end('NOT-HTTP \x00\xff garbage\r\n\r\n'));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r));
    const silent = net.createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (s: net.Server) => (s.address() as net.AddressInfo).port;
    const w = await startWorld([
      hook(`http://127.0.0.1:${port(garbage)}/`, { name: 'garbage' }),
      hook(`http://127.0.0.1:${port(silent)}/`, { name: 'silent', timeoutMs: 200 }),
    ]);
    t.teardown(async () => {
      await w.stop();
      garbage.close();
      silent.close();
    });
    const pub = await w.wamp();
    t.is((await publishAck(pub, 'alarm.a', [1]))[0], 17);
    await until(
      () => w.status('garbage').counters.retries >= 2 && w.status('silent').counters.retries >= 2,
      10_000,
      'retries',
    );
    t.regex(w.status('garbage').lastError ?? '', /POST http:\/\/127\.0\.0\.1:\d+\/: /);
    t.regex(w.status('silent').lastError ?? '', /timeout|aborted/i);
    t.is(w.status('garbage').queue.depth, 1, 'kept for a later attempt');
    // The router goes on: a fresh client publishes and is acknowledged.
    const other = await w.wamp();
    t.is((await publishAck(other, 'other.topic', [2]))[0], 17);
  },
);
