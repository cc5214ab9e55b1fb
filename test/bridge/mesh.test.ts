// Bridges in a mesh: each node forwards only what was published on it. Two router processes
// linked by a seed, each with the same webhook bridge: an event published on one reaches the
// other's subscribers over the mesh but only its own node's outbox, so the endpoint gets it once.

import test from 'ava';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type net from 'node:net';
import { promisify } from 'node:util';
import { connect, waitFor } from '../helpers/raw-client.ts';
import { wampmeshBin, type RouterProcess } from '../helpers/router-process.ts';
import { startMeshNode } from '../helpers/mesh-node.ts';
import type { BridgeStatus } from '../../src/bridge/bridges.ts';
import { publishAck } from './world.ts';

const run = promisify(execFile);

async function node(
  t: { teardown(fn: () => unknown): void },
  name: string,
  seeds: string[],
  hookUrl: string,
): Promise<RouterProcess> {
  return startMeshNode(t, {
    node: name,
    seeds,
    cluster: { name: 'bridges', secret: 'a cluster secret of some length' },
    config: {
      bridges: [
        {
          name: 'hook',
          type: 'webhook',
          url: hookUrl,
          realm: 'realm1',
          rules: [{ wamp: 'alarm.', match: 'prefix' }],
        },
      ],
    },
  });
}

async function status(r: RouterProcess): Promise<BridgeStatus> {
  const { stdout } = await run(wampmeshBin, ['bridge', 'status', '--data', r.dataDir]);
  return (JSON.parse(stdout) as BridgeStatus[])[0]!;
}

test('each node forwards only the events published on it', async (t) => {
  const posts: { args: unknown[] }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push(JSON.parse(Buffer.concat(chunks).toString()));
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
  const a = await node(t, 'alpha', [], url);
  const meshPort = a.listeners.find((l) => l.transport === 'mesh')!.port;
  const b = await node(t, 'beta', [`127.0.0.1:${meshPort}`], url);

  const subB = await connect({ transport: 'rawsocket', port: b.rawsocketPort, serializer: 'json' });
  await subB.join('realm1');
  subB.send([32, 1, { match: 'prefix' }, 'alarm.']);
  await subB.next((m) => m[0] === 33);
  const pubA = await connect({ transport: 'rawsocket', port: a.rawsocketPort, serializer: 'json' });
  await pubA.join('realm1');
  // Until the mesh has told alpha about beta's subscription, events do not cross: publish until one does.
  let i = 0;
  for (const deadline = Date.now() + 15_000; ; i++) {
    await publishAck(pubA, 'alarm.a', [i]);
    const got = await subB.next((m) => m[0] === 36, 200).catch(() => undefined);
    if (got !== undefined) break;
    if (Date.now() > deadline) throw new Error('no event crossed the mesh');
  }
  const fromA = i + 1;
  const pubB = await connect({ transport: 'rawsocket', port: b.rawsocketPort, serializer: 'json' });
  await pubB.join('realm1');
  await publishAck(pubB, 'alarm.b', ['from beta']);
  await waitFor(() => posts.length >= fromA + 1, 10_000, 'the POSTs');
  const sa = await status(a);
  const sb = await status(b);
  t.is(sa.counters.queued, fromA, 'alpha queued only its own publications');
  t.is(sb.counters.queued, 1, 'beta queued only its own, not the one that crossed from alpha');
  t.is(posts.length, fromA + 1, 'the endpoint got each event once');
  subB.destroy();
  pubA.destroy();
  pubB.destroy();
});
