// A mesh member under the test's control, for test/netns/mesh-trust.test.ts: a real node (the
// same links, routing and trust as `wampmesh serve`, started by startMesh) that also puts forged
// frames on its links when told to, one JSON command per stdin line:
//   {"op":"forge-lsa","origin":NODE}           NODE's advertisement, newer, claiming a link to us
//                                               and a registration NODE does not serve
//   {"op":"forge-call","origin":NODE,"dst":NODE,"procedure":URI}
//                                               a call "of" a session on origin, by "admin", to dst
//   {"op":"forge-event","origin":NODE,"dst":NODE,"topic":URI}
//                                               a publication "of" a session on origin, by "admin",
//                                               to dst, behind a seal it made itself
//   {"op":"alter-events","on":BOOL}             from now on, change one octet of every event it
//                                               passes on (not its own)
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
import { digestOf } from '../../src/mesh/routing/event-seal.ts';
import {
  PassedFrame,
  type CallFrame,
  type EventFrame,
  type Lsa,
  type OutgoingFrame,
} from '../../src/mesh/routing/frames.ts';
import { encodeEventContent } from '../../src/mesh/routing/event-content.ts';
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

// What an intermediate can do to the events it passes on: every frame this node's mesh sends
// goes through here. Event copies are numbered per link (ls), and the neighbour closes a link
// whose numbers jump: the copies forged here take numbers in that sequence, and this node's own
// copies after them are moved up by as many.
let alter = false;
const forgedOn = new Map<string, number>();
const lastLs = new Map<string, number>();
const send = mesh.links.send.bind(mesh.links);
mesh.links.send = (peer: string, frame: OutgoingFrame) => {
  if (frame instanceof PassedFrame || frame.t !== 'event') return send(peer, frame);
  if (frame.ls === 1) forgedOn.delete(peer); // a new link numbers from 1
  let out: EventFrame = { ...frame, ls: frame.ls + (forgedOn.get(peer) ?? 0) };
  if (alter && out.b !== undefined && out.src !== mesh.nodeId) {
    const b = Uint8Array.from(out.b);
    b[b.length - 1]! ^= 1;
    out = { ...out, b };
  }
  lastLs.set(peer, out.ls);
  return send(peer, out);
};
const forge = (peer: string, frame: Omit<EventFrame, 'ls'>) => {
  const ls = (lastLs.get(peer) ?? 0) + 1;
  const result = send(peer, { ...frame, ls });
  if (result === 'sent') {
    lastLs.set(peer, ls);
    forgedOn.set(peer, (forgedOn.get(peer) ?? 0) + 1);
  }
  return result;
};

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as {
    op: string;
    origin?: string;
    dst?: string;
    procedure?: string;
    topic?: string;
    on?: boolean;
  };
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
  } else if (cmd.op === 'forge-event') {
    // Numbers far ahead of the origin's: an event with a seal of this node's making.
    const b = encodeEventContent({
      realm: 'realm1',
      topic: cmd.topic!,
      publication: nextId++,
      timestamp: Date.now(),
      details: { publisher: 1, publisher_authid: 'admin', publisher_authrole: 'admin' },
      args: ['forged'],
      retain: false,
    });
    const at = {
      t: 'event',
      src: cmd.origin!,
      ep: mesh.node.lsdb.get(cmd.origin!)?.epoch ?? 1,
      dsts: [cmd.dst!],
      lives: [mesh.node.lsdb.get(cmd.dst!)?.epoch ?? 1],
      ttl: 8,
    } as const;
    const frames: Omit<EventFrame, 'ls'>[] = [
      { ...at, seqs: [1_000_001], b, seals: [[new Uint8Array(16), Buffer.from(digestOf(b), 'latin1')]] },
    ];
    const hop = mesh.node.lsdb.routes().get(cmd.dst!);
    if (hop !== undefined) for (const f of frames) if (forge(hop, f) === 'sent') sent.push(hop);
  } else if (cmd.op === 'alter-events') {
    alter = cmd.on === true;
  }
  print({ op: cmd.op, sent });
}
