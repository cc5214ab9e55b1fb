// A bare TCP forwarder in a process of its own: reads and writes, no parsing, TCP_NODELAY. The
// least a Node process in a path can do, and so the floor under a mesh hop on this machine
// (hop-floor.ts for latency, mesh-roles.ts for CPU per call and calls/s). With `tagging`, the
// forwarder also checks and makes a link's integrity tag per read (tagging-forwarder.ts): the
// floor under a hop with the tags on.

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const TAGGING = fileURLToPath(new URL('./tagging-forwarder.ts', import.meta.url));

// Listens on an ephemeral port, prints it, pipes each connection to the target port.
const FORWARDER = `
const net = require('node:net');
const target = Number(process.argv[1]);
const server = net.createServer((inbound) => {
  const outbound = net.connect(target, '127.0.0.1');
  inbound.setNoDelay(true);
  outbound.setNoDelay(true);
  inbound.pipe(outbound);
  outbound.pipe(inbound);
  const end = () => { inbound.destroy(); outbound.destroy(); };
  inbound.on('error', end); outbound.on('error', end); inbound.on('close', end); outbound.on('close', end);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

export interface Forwarder {
  readonly port: number;
  readonly child: ChildProcess;
}

export async function startForwarder(target: number, tagging = false): Promise<Forwarder> {
  // The routers' runtime (scripts/node24 runs the benches), so both sides are the same Node.
  const args = tagging ? [TAGGING, String(target)] : ['-e', FORWARDER, String(target)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { port: Number(line.toString().trim()), child };
}

/** `count` forwarders in a line in front of `target`; the first element is the front one. */
export async function startForwarders(target: number, count: number, tagging = false): Promise<Forwarder[]> {
  const line: Forwarder[] = [];
  let next = target;
  for (let i = 0; i < count; i++) {
    const f = await startForwarder(next, tagging);
    line.unshift(f);
    next = f.port;
  }
  return line;
}
