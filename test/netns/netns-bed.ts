// A test bed of network namespaces (scripts/netns.sh: chain4, ring6), unique to this test process,
// and whether this machine can make one at all; stale beds of dead test processes are swept.

import { spawnSync } from 'node:child_process';
import { liveBeds } from './netns-exit.ts';
import { netnsScript } from './netns-paths.ts';

export type Topology = 'chain4' | 'ring6';

/**
 * Why the namespace tests cannot run here, or undefined when they can. Tried for real (a
 * namespace is made and removed), since `ip netns` may exist and still be refused.
 */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root (network namespaces need root)';
  const probe = `wm-probe${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8', timeout: 10_000 });
  if (add.error !== undefined) return `'ip' not usable: ${add.error.message} (apt-get install iproute2)`;
  if (add.status !== 0) return `'ip netns add' fails: ${add.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe], { timeout: 10_000 });
  return undefined;
}

/** Prints a banner: a skipped bed must be noticed, not mistaken for a pass. */
export function announceSkip(file: string, reason: string): void {
  const line = '!'.repeat(78);
  process.stderr.write(`\n${line}\n!! ${file}: SKIPPED: ${reason}\n${line}\n\n`);
}

export interface NodeInterface {
  readonly name: string;
  readonly address: string;
  readonly prefix: number;
}
export interface BedNode {
  readonly name: string;
  readonly ns: string;
  readonly interfaces: readonly NodeInterface[];
}

export interface Bed {
  readonly topology: Topology;
  readonly tag: string;
  readonly nodes: ReadonlyMap<string, BedNode>;
  node(name: string): BedNode;
  /** Removes the namespaces (and kills whatever still runs in them). Idempotent. */
  down(): void;
}

const OWNED = /^wm-([a-z]+)p([0-9]+)-/;

/**
 * Removes beds left by test processes that no longer exist (a worker killed outright runs no
 * exit hook). Only names of the form wm-<label>p<pid>- are touched, and only for dead pids.
 */
function sweepStaleBeds(): void {
  const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 10_000 });
  for (const line of (list.stdout ?? '').split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    const m = OWNED.exec(ns);
    if (m === null) continue;
    const pid = Number(m[2]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (err) {
      alive = (err as NodeJS.ErrnoException).code !== 'ESRCH';
    }
    if (alive) continue;
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
    for (const p of pids.split('\n').filter((x) => /^[0-9]+$/.test(x))) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    spawnSync('ip', ['netns', 'del', ns], { timeout: 10_000 });
  }
}

/**
 * Creates (afresh) a topology whose names all start with wm-<label>p<pid>-: unique to this
 * test process, so two test runs on one machine (or two files of one run) never share a bed.
 */
export function createBed(topology: Topology, label: string): Bed {
  if (!/^[a-z]{1,8}$/.test(label)) throw new Error(`bed label must be 1-8 lower-case letters: ${label}`);
  sweepStaleBeds();
  const tag = `${label}p${process.pid}`;
  const up = spawnSync('bash', [netnsScript, 'up', topology, tag], { encoding: 'utf8', timeout: 60_000 });
  if (up.status !== 0) {
    spawnSync('bash', [netnsScript, 'down', topology, tag], { timeout: 60_000 });
    throw new Error(`netns.sh up ${topology} ${tag} failed (${up.status}): ${up.stderr}${up.error?.message ?? ''}`);
  }
  const nodes = new Map<string, { name: string; ns: string; interfaces: NodeInterface[] }>();
  for (const line of up.stdout.split('\n')) {
    const m = /^(\S+) (\S+) (\S+) ([0-9.]+)\/([0-9]+)$/.exec(line.trim());
    if (m === null) continue;
    const [, name, ns, iface, address, prefix] = m as unknown as [string, string, string, string, string, string];
    let node = nodes.get(name);
    if (node === undefined) nodes.set(name, (node = { name, ns, interfaces: [] }));
    node.interfaces.push({ name: iface, address, prefix: Number(prefix) });
  }
  let removed = false;
  const bed: Bed = {
    topology,
    tag,
    nodes,
    node(name) {
      const n = nodes.get(name);
      if (n === undefined) throw new Error(`no node ${name} in ${topology}`);
      return n;
    },
    down() {
      if (removed) return;
      removed = true;
      liveBeds.delete(bed);
      spawnSync('bash', [netnsScript, 'down', topology, tag], { timeout: 60_000 });
    },
  };
  liveBeds.add(bed);
  return bed;
}
