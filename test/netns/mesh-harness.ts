// Real `wampmesh serve` processes in the namespaces of a bed, meshed by mDNS alone, and
// Autobahn|Python agents (python/mesh_agent.py) driven line by line inside the namespaces.

import type { TestFn } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { streamVerdict, type StreamVerdict } from '../helpers/stream-verdict.ts';
import {
  eventually,
  pythonAutobahnMissing,
  repoRoot,
  startInNetns,
  startPythonInNetns,
  wampmeshBin,
  type Bed,
  type NsProcess,
} from './harness.ts';

export const CLUSTER = { name: 'netns-mesh', secret: 'netns-mesh-test-secret-0123456789' };
export const WS_PORT = 8080;
export const LINK_PORT = 8091;
const AGENT = join(repoRoot, 'test', 'netns', 'python', 'mesh_agent.py');

/**
 * The config file of one node: WebSocket on its own namespace's loopback, links on all
 * addresses, no seeds; `listeners` adds more (e.g. an MQTT listener).
 */
export function meshConfig(
  nodeId: string,
  dataDir: string,
  listeners: Record<string, unknown> = {},
  mesh: Record<string, unknown> = {},
): object {
  return {
    dataDir,
    logLevel: 'info',
    realms: [{ uri: 'realm1', anonymous: true }],
    listeners: {
      websocket: [{ host: '127.0.0.1', port: WS_PORT, path: '/ws' }],
      rawsocket: [],
      unix: [],
      http: [],
      ...listeners,
    },
    mesh: {
      enabled: true,
      nodeId,
      cluster: CLUSTER,
      listen: { host: '0.0.0.0', port: LINK_PORT },
      seeds: [],
      interfaces: [],
      minLinks: 2,
      maxLinks: 4,
      ...mesh,
    },
  };
}

export interface MeshRouter {
  readonly node: string;
  readonly ns: string;
  proc: NsProcess;
  /** Starts it (again); resolves once it printed its listening line. */
  start(): Promise<void>;
}

/** A folder for configs and data folders, removed by `remove()`. */
export function workDir(label: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `wampmesh-netns-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function meshRouter(
  bed: Bed,
  node: string,
  dir: string,
  listeners: Record<string, unknown> = {},
  mesh: Record<string, unknown> = {},
): MeshRouter {
  const ns = bed.node(node).ns;
  const nodeDir = join(dir, node);
  mkdirSync(nodeDir, { recursive: true });
  const configFile = join(nodeDir, 'config.json');
  writeFileSync(configFile, JSON.stringify(meshConfig(node, join(nodeDir, 'data'), listeners, mesh), null, 2));
  const router: MeshRouter = {
    node,
    ns,
    proc: undefined as unknown as NsProcess,
    async start() {
      router.proc = startInNetns(ns, wampmeshBin, ['serve', '--config', configFile], { name: `router ${node}` });
      await router.proc.waitForLine(/"event":"listening"/, 20_000);
    },
  };
  return router;
}

export interface Reply {
  id: number;
  ok: boolean;
  error?: string;
  args?: unknown[];
  ms: number;
  message?: string;
}

export interface Agent {
  readonly proc: NsProcess;
  request(cmd: Record<string, unknown>, timeoutMs?: number): Promise<Reply>;
  call(procedure: string, args: unknown[], timeoutMs?: number): Promise<Reply>;
  /** Every event received on `topic`, in order. */
  events(topic: string): unknown[][];
  stop(): Promise<number>;
}

/** Starts python/mesh_agent.py in `ns` against that namespace's router; resolves once joined. */
export async function startAgent(ns: string, name: string, realm = 'realm1'): Promise<Agent> {
  const proc = startPythonInNetns(
    ns,
    AGENT,
    ['--url', `ws://127.0.0.1:${WS_PORT}/ws`, '--realm', realm, '--name', name],
    { stdin: true, name: `agent ${name}` },
  );
  await proc.waitForEvent((e) => e.event === 'joined', 20_000);
  let nextId = 1;
  const agent: Agent = {
    proc,
    async request(cmd, timeoutMs = 15_000) {
      const id = nextId++;
      const from = proc.lines().length;
      proc.send(JSON.stringify({ ...cmd, id }));
      return (await proc.waitForEvent((e) => e.id === id, timeoutMs, from)) as unknown as Reply;
    },
    call(procedure, args, timeoutMs = 10_000) {
      return agent.request({ op: 'call', procedure, args, timeout_ms: timeoutMs }, timeoutMs + 5_000);
    },
    events(topic) {
      return proc
        .events()
        .filter((e) => e.event === 'evt' && e.topic === topic)
        .map((e) => e.args as unknown[]);
    },
    async stop() {
      if (!proc.hasExited()) {
        try {
          proc.send(JSON.stringify({ op: 'quit', id: 0 }));
        } catch {
          /* already gone */
        }
      }
      return proc.stop(3_000);
    },
  };
  return agent;
}

/** Whether `a` logged its link to `b` up at least `times` times. */
export function linkUpLogged(routers: ReadonlyMap<string, MeshRouter>, a: string, b: string, times = 1): boolean {
  const lines = routers
    .get(a)!
    .proc.stderr()
    .split('\n')
    .filter((l) => l.includes('mesh link up') && l.includes(`"peer":"${b}"`));
  return lines.length >= times;
}

/** Waits until every pair has logged its link up at both ends. */
export async function linksUp(
  routers: ReadonlyMap<string, MeshRouter>,
  pairs: readonly (readonly [string, string])[],
  timeoutMs = 20_000,
): Promise<void> {
  await eventually('every link up at both ends', timeoutMs, () =>
    pairs.every(([a, b]) => linkUpLogged(routers, a, b) && linkUpLogged(routers, b, a)) ? true : undefined,
  );
}

/**
 * A silent failure of the link a-b (a pulled cable, Wi-Fi out of range): each drops what it
 * sends the other (a blackhole route to the other's address on their shared segment), so no
 * RST and no ICMP error tell either side; the TCP connection stays open. `on: false` heals it.
 */
export function silentCut(bed: Bed, a: string, b: string, on: boolean): void {
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    const peer = bed.node(y).interfaces.find((i) => i.name === `to-${x}`);
    if (peer === undefined) throw new Error(`${x} and ${y} share no segment`);
    execFileSync('ip', ['-n', bed.node(x).ns, 'route', on ? 'add' : 'del', 'blackhole', `${peer.address}/32`]);
  }
}

/**
 * Streams count numbered events from `pub` to `sub` on `topic` (after a probe topic shows the
 * route is known), runs `fault` once a sixth of them has arrived, and reports what `sub` got.
 */
export async function streamAcross(
  pub: Agent,
  sub: Agent,
  topic: string,
  { count, rate, settleMs = 30_000 }: { count: number; rate: number; settleMs?: number },
  fault: () => unknown,
): Promise<StreamVerdict> {
  for (const t of [topic, `${topic}.probe`])
    if (!(await sub.request({ op: 'subscribe', topic: t })).ok) throw new Error(`subscribe ${t} failed`);
  await eventually(
    'a probe reaches the subscriber',
    20_000,
    async () => {
      await pub.request({ op: 'publish', topic: `${topic}.probe`, args: [0] });
      return sub.events(`${topic}.probe`).length > 0 ? true : undefined;
    },
    200,
  );
  const done = pub.request({ op: 'stream', topic, count, rate }, count * 3 + 30_000);
  await eventually('a sixth of the stream arrived', 20_000, () =>
    sub.events(topic).length >= count / 6 ? true : undefined,
  );
  await fault();
  if (!(await done).ok) throw new Error('stream failed');
  await eventually(
    'the whole stream arrived',
    settleMs,
    () => (sub.events(topic).length >= count ? true : undefined),
    200,
  ).catch(() => undefined);
  return streamVerdict(
    sub.events(topic).map((args) => args[0] as number),
    count,
  );
}

/** One mesh test file's bed, work folder, routers and agents, as its tests set them up. */
export interface MeshSuite {
  bed: Bed | undefined;
  work: { dir: string; remove(): void } | undefined;
  readonly routers: Map<string, MeshRouter>;
  readonly agents: Agent[];
}

/**
 * The hooks every mesh test file needs: Autobahn|Python present before its tests, and after
 * them, whatever they set up in the returned suite stopped and removed, even when a test failed.
 */
export function meshSuite(test: TestFn): MeshSuite {
  const suite: MeshSuite = { bed: undefined, work: undefined, routers: new Map(), agents: [] };
  test.before(() => {
    const missing = pythonAutobahnMissing();
    if (missing !== undefined) throw new Error(missing);
  });
  test.after.always(async () => {
    await Promise.all(suite.agents.map((a) => a.stop()));
    await Promise.all([...suite.routers.values()].map((r) => r.proc?.stop(3_000)));
    suite.bed?.down();
    suite.work?.remove();
  });
  return suite;
}
