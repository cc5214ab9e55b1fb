// Link peers in child processes, for peers that freeze (SIGSTOP), stall their event loop or die
// (SIGKILL): shared by the links-*.test.ts files.

import type { ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import type { MeshLinks } from '../../src/mesh/links/links.ts';
import { CLUSTER, SECRET, until, type LinkNode } from './links-harness.ts';

export const CHILD_SOURCE = `
export const { MeshLinks } = await import(process.env.LINKS_URL);
export const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
export const links = new MeshLinks({
  nodeId: process.env.NODE_ID, clusterName: process.env.CLUSTER, clusterSecret: process.env.SECRET, listen: { host: '127.0.0.1', port: 0 },
});
links.attach({
  linkUp: (peer) => out({ ev: 'up', peer }), linkDown: (peer) => out({ ev: 'down', peer }),
  dialFailed: (peer) => out({ ev: 'dialFailed', peer }), receive: () => undefined,
});
export const { port } = await links.start();
out({ ev: 'listening', port });
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  for (let i = buf.indexOf('\\n'); i >= 0; i = buf.indexOf('\\n')) {
    const cmd = JSON.parse(buf.slice(0, i));
    buf = buf.slice(i + 1);
    if (cmd.seed) links.addSeed('127.0.0.1', cmd.seed);
    if (cmd.busyMs) { const end = Date.now() + cmd.busyMs; while (Date.now() < end) {} out({ ev: 'busy-done' }); }
    if (cmd.status) out({ ev: 'status', status: links.status() });
  }
});
process.stdin.on('end', () => process.exit(0));
`;

export interface ChildEvent {
  ev: string;
  peer?: string;
  port?: number;
  status?: ReturnType<MeshLinks['status']>;
}

export class ChildPeer {
  readonly proc: ChildProcess;
  readonly events: ChildEvent[] = [];
  #buf = '';

  constructor(t: ExecutionContext, nodeId: string) {
    this.proc = spawn(process.execPath, ['--input-type=module', '-e', CHILD_SOURCE], {
      env: {
        ...process.env,
        LINKS_URL: new URL('../../src/mesh/links/links.ts', import.meta.url).href,
        NODE_ID: nodeId,
        CLUSTER,
        SECRET,
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (chunk: string) => {
      this.#buf += chunk;
      for (let i = this.#buf.indexOf('\n'); i >= 0; i = this.#buf.indexOf('\n')) {
        this.events.push(JSON.parse(this.#buf.slice(0, i)) as ChildEvent);
        this.#buf = this.#buf.slice(i + 1);
      }
    });
    t.teardown(() => {
      this.proc.kill('SIGKILL');
    });
  }

  send(command: object): void {
    this.proc.stdin!.write(`${JSON.stringify(command)}\n`);
  }
  has(ev: string): boolean {
    return this.events.some((e) => e.ev === ev);
  }

  async status(): Promise<ReturnType<MeshLinks['status']>> {
    const before = this.events.length;
    this.send({ status: true });
    await until(() => this.events.slice(before).some((e) => e.ev === 'status'), 5000, 'child status');
    return this.events.slice(before).find((e) => e.ev === 'status')!.status!;
  }
}

/** A child node linked to `parent` (the child dials it as a seed). */
export async function linkedChild(t: ExecutionContext, parent: LinkNode, childId: string): Promise<ChildPeer> {
  const child = new ChildPeer(t, childId);
  await until(() => child.has('listening'), 10_000, 'child listening');
  child.send({ seed: parent.port });
  await until(
    () => parent.rec.count('up', childId) === 1 && child.events.some((e) => e.ev === 'up'),
    5000,
    'child link up',
  );
  return child;
}
