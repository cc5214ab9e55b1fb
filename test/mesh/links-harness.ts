// Mesh links over real TCP sockets on 127.0.0.1, shared by the links-*.test.ts files: real
// Routers and MeshNodes where the mesh matters, a recording stand-in where only the link layer is
// under test, and captured log lines to check what an operator would be told.

import type { ExecutionContext } from 'ava';
import { Router } from '../../src/router/router.ts';
import { MeshNode } from '../../src/mesh/routing/node.ts';
import { MeshLinks, type MeshEndpoint, type MeshLinksOptions } from '../../src/mesh/links/links.ts';
import type { Lsa } from '../../src/mesh/routing/frames.ts';
import type { Logger } from '../../src/log.ts';
import { MemoryClient } from '../helpers/memory-peer.ts';

export const HOST = '127.0.0.1';
export const CLUSTER = 'links-test';
export const SECRET = 'links-test-secret-0123456789';

export const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function until(check: () => boolean, ms: number, what: string, everyMs = 10): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(everyMs);
  }
}

export interface LogLine {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

export function captureLogger(lines: LogLine[], bindings: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, msg: msg ?? '', fields: { ...bindings, ...obj } });
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (b) => captureLogger(lines, { ...bindings, ...b }),
  };
}

export function logged(lines: LogLine[], pattern: RegExp, level?: string): boolean {
  return lines.some(
    (l) => (level === undefined || l.level === level) && pattern.test(`${l.msg} ${String(l.fields.reason ?? '')}`),
  );
}

export type Event = { ev: 'up' | 'down' | 'dialFailed' | 'frame'; peer: string; value?: unknown };

/** The mesh side, recorded: for tests of the link layer alone. */
export class Recorder implements MeshEndpoint {
  readonly events: Event[] = [];
  validate: ((value: unknown) => string | undefined) | undefined;
  linkUp(peer: string): void {
    this.events.push({ ev: 'up', peer });
  }
  linkDown(peer: string): void {
    this.events.push({ ev: 'down', peer });
  }
  dialFailed(peer: string): void {
    this.events.push({ ev: 'dialFailed', peer });
  }
  receive(peer: string, value: unknown): string | undefined {
    this.events.push({ ev: 'frame', peer, value });
    return this.validate?.(value);
  }
  count(ev: Event['ev'], peer?: string): number {
    return this.events.filter((e) => e.ev === ev && (peer === undefined || e.peer === peer)).length;
  }
  frames(peer: string): unknown[] {
    return this.events.filter((e) => e.ev === 'frame' && e.peer === peer).map((e) => e.value);
  }
}

export interface LinkNode {
  id: string;
  links: MeshLinks;
  port: number;
  logs: LogLine[];
  rec: Recorder;
}

/** A node's links on an ephemeral port of HOST, in the test cluster, logging into `logs`. */
function meshLinks(id: string, logs: LogLine[], options: Partial<MeshLinksOptions>): MeshLinks {
  return new MeshLinks({
    nodeId: id,
    clusterName: CLUSTER,
    clusterSecret: SECRET,
    listen: { host: HOST, port: 0 },
    logger: captureLogger(logs),
    ...options,
  });
}

export async function linkNode(
  t: ExecutionContext,
  id: string,
  options: Partial<MeshLinksOptions> = {},
): Promise<LinkNode> {
  const logs: LogLine[] = [];
  const links = meshLinks(id, logs, options);
  const rec = new Recorder();
  links.attach(rec);
  const { port } = await links.start();
  t.teardown(() => links.close());
  return { id, links, port, logs, rec };
}

export interface RouterNode {
  id: string;
  links: MeshLinks;
  port: number;
  logs: LogLine[];
  router: Router;
  mesh: MeshNode;
}

export async function routerNode(
  t: ExecutionContext,
  id: string,
  options: Partial<MeshLinksOptions> = {},
): Promise<RouterNode> {
  const logs: LogLine[] = [];
  const router = new Router({ realms: [{ uri: 'realm1', anonymous: true }] });
  const links = meshLinks(id, logs, options);
  const mesh = new MeshNode({
    id,
    router,
    driver: links,
    config: { dialBackoffMs: 100 },
    trust: links.trust,
    logger: captureLogger(logs),
  });
  links.attach(mesh);
  const { port } = await links.start();
  const ticker = setInterval(() => mesh.tick(), 25);
  t.teardown(async () => {
    clearInterval(ticker);
    await links.close();
  });
  return { id, links, port, logs, router, mesh };
}

export const linkPeers = (n: { links: MeshLinks }) => n.links.status().links.map((l) => l.peer);

const roles = { caller: {}, callee: {}, publisher: {}, subscriber: {} };

export function client(router: Router): MemoryClient {
  const c = new MemoryClient(router);
  c.join('realm1', { roles });
  return c;
}

export function register(c: MemoryClient, procedure: string): void {
  c.send([64, 1, {}, procedure]);
  const reply = c.take().at(-1);
  if (reply?.[0] !== 65) throw new Error(`REGISTER failed: ${JSON.stringify(reply)}`);
}

/** Answers every INVOCATION with [tag, ...args]. */
export function serve(t: ExecutionContext, callee: MemoryClient, tag: string): void {
  const timer = setInterval(() => {
    for (const m of callee.take())
      if (m[0] === 68) callee.send([70, m[1], {}, [tag, ...((m[4] as unknown[] | undefined) ?? [])]]);
  }, 2);
  t.teardown(() => clearInterval(timer));
}

export async function call(
  caller: MemoryClient,
  request: number,
  procedure: string,
  args: unknown[],
): Promise<unknown[]> {
  caller.send([48, request, {}, procedure, args]);
  let answer: unknown[] | undefined;
  await until(
    () =>
      (answer = caller.received.find((m) => (m[0] === 50 && m[1] === request) || (m[0] === 8 && m[2] === request))) !==
      undefined,
    5000,
    `answer to call ${request}`,
  );
  return answer!;
}

export function lsa(origin: string, extra: Partial<Lsa> = {}): Lsa {
  return { t: 'lsa', origin, epoch: 1, seq: 1, links: [], realms: {}, ...extra };
}
