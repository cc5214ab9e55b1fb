// Real `wampmesh serve` processes in the namespaces of a bed, meshed by mDNS alone, and
// Autobahn|Python agents (python/mesh_agent.py) driven line by line inside the namespaces.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startInNetns, startPythonInNetns, wampmeshBin, type Bed, type NsProcess } from './harness.ts';

export const CLUSTER = { name: 'netns-mesh', secret: 'netns-mesh-test-secret-0123456789' };
export const WS_PORT = 8080;
export const LINK_PORT = 8091;
const AGENT = join(repoRoot, 'test', 'netns', 'python', 'mesh_agent.py');

/**
 * The config file of one node: WebSocket on its own namespace's loopback, links on all
 * addresses, no seeds; `listeners` adds more (e.g. an MQTT listener).
 */
export function meshConfig(nodeId: string, dataDir: string, listeners: Record<string, unknown> = {}): object {
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

export function meshRouter(bed: Bed, node: string, dir: string, listeners: Record<string, unknown> = {}): MeshRouter {
  const ns = bed.node(node).ns;
  const nodeDir = join(dir, node);
  mkdirSync(nodeDir, { recursive: true });
  const configFile = join(nodeDir, 'config.json');
  writeFileSync(configFile, JSON.stringify(meshConfig(node, join(nodeDir, 'data'), listeners), null, 2));
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
