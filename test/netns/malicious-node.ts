// A mesh member under the test's control, for test/netns/mesh-trust.test.ts: a real node (the
// same links, routing and trust as `wampmesh serve`, started by startMesh) that also puts forged
// frames on its links when told to, one JSON command per stdin line:
//   {"op":"forge-lsa","origin":NODE}           NODE's advertisement, newer, claiming a link to us
//                                               and a registration NODE does not serve
//   {"op":"forge-call","origin":NODE,"dst":NODE,"procedure":URI}
//                                               a call "of" a session on origin, by "admin", to dst
//   {"op":"status"}                             this node's mesh status
// Each command is answered with one JSON line {"op":...,"sent":[peers]} (or the status); logs
// go to stderr.
//
//   scripts/node24 test/netns/malicious-node.ts --config FILE

import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { mkdirSync, readFileSync } from 'node:fs';
import { startMesh } from '../../src/cli/mesh.ts';
import { parseConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/log.ts';
import type { CallFrame, Lsa } from '../../src/mesh/routing/frames.ts';
import { Router } from '../../src/router/router.ts';

const { values } = parseArgs({ options: { config: { type: 'string' } } });
const config = parseConfig(JSON.parse(readFileSync(values.config!, 'utf8')), values.config!);
mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
const logger = createLogger({ level: 'info' });
const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }], logger });
const mesh = await startMesh(config.mesh, router, config.dataDir, logger);
const print = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
print({ event: 'listening', node: mesh.nodeId, port: mesh.port });

const neighbours = (): string[] => mesh.links.status().links.map((l) => l.peer);
let nextId = 900_000;

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { op: string; origin?: string; dst?: string; procedure?: string };
  if (cmd.op === 'status') {
    print({ op: 'status', status: mesh.node.status() });
    continue;
  }
  const sent: string[] = [];
  if (cmd.op === 'forge-lsa') {
    const real = mesh.node.lsdb.get(cmd.origin!);
    if (real !== undefined) {
      const forged: Lsa = {
        ...real,
        seq: real.seq + 1_000,
        links: [...real.links, mesh.nodeId],
        realms: {
          realm1: {
            registrations: [
              {
                procedure: 'test.trust.stolen',
                match: 'exact',
                invoke: 'single',
                callees: [{ session: 1, features: [] }],
              },
            ],
            subscriptions: [],
          },
        },
      };
      for (const peer of neighbours()) if (mesh.links.send(peer, forged) === 'sent') sent.push(peer);
    }
  } else if (cmd.op === 'forge-call') {
    const frame: CallFrame = {
      t: 'call',
      origin: cmd.origin!,
      dst: cmd.dst!,
      id: nextId++,
      realm: 'realm1',
      procedure: cmd.procedure!,
      match: 'exact',
      session: 1,
      details: { caller: 1, caller_authid: 'admin', caller_authrole: 'admin' },
      args: [1, 2],
      who: [1, 'admin', 'admin', true],
    };
    const hop = mesh.node.lsdb.routes().get(frame.dst);
    if (hop !== undefined && mesh.links.send(hop, frame) === 'sent') sent.push(hop);
  }
  print({ op: cmd.op, sent });
}
